"""`vireid train`: the paper's recipe on SYSU-MM01, RegDB or the generated dataset, with exact resume and DDP.

One epoch = `len(sampler)` batches of P identities x (K visible + K infrared) images. The loss is the
baseline's: per-part cross-entropy + hetero-center triplet on the concatenated part features +
`w_center` x the hetero-center triplet of each part. The learning rate is set per epoch (schedule.py). At
the end of every epoch rank 0 writes model.safetensors, best.safetensors when the selection metric improved,
a metrics.jsonl line and, last, trainer_state.pt, the commit point a resume starts from. Because batches and
augmentations are functions of (seed, epoch, rank), a run killed at any point and resumed ends with the same
weights as an uninterrupted run (on the CPU; GPU kernels may be non-deterministic).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from vireid.config import RunConfig
from vireid.data.check import check_dataset
from vireid.data.dataset import CrossModalTrainSet, relabel
from vireid.data.layout import detect_layout
from vireid.data.sampler import CrossModalIdentitySampler
from vireid.data.transforms import train_transforms
from vireid.engine.distributed import Distributed
from vireid.engine.metrics_log import MetricsLog
from vireid.engine.optim import build_optimizer, set_learning_rates
from vireid.engine.precision import resolved_train_config, step_precision
from vireid.engine.result import BestEpoch, TrainResult
from vireid.engine.splits import TrainingSplit, training_split
from vireid.engine.state import STATE_FILE, load_state, save_state
from vireid.engine.validate import validation_metrics
from vireid.errors import VireidError
from vireid.io.rundir import BEST_WEIGHTS_FILE, CONFIG_FILE, WEIGHTS_FILE, load_config, save_config, save_weights
from vireid.losses.reid import reid_loss
from vireid.models import TwoStreamReID, build_model
from vireid.progress import interactive, log, progress

RUN_FILES = (CONFIG_FILE, WEIGHTS_FILE, BEST_WEIGHTS_FILE, STATE_FILE, MetricsLog.FILE)


def pick_device(requested: str) -> torch.device:
    if requested == "cuda" and not torch.cuda.is_available():
        raise VireidError("train.device = cuda but no CUDA GPU is visible; use train.device = cpu or auto")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


class Trainer:
    def __init__(self, config: RunConfig, out: Path, *, resume: bool = False, show_progress: bool | None = None):
        self.out = out
        device = pick_device(config.train.device)
        self.dist = Distributed.from_env(use_cuda=device.type == "cuda")
        self.device = torch.device("cuda", self.dist.local_rank) if device.type == "cuda" else device
        self.show_progress = interactive() if show_progress is None else show_progress
        self.layout = detect_layout(config.data.root)
        if self.dist.is_main:
            check_dataset(config.data.root, progress=self.show_progress)
        self.dist.barrier()
        self.split: TrainingSplit = training_split(self.layout, config.data, config.train)
        self.labels = relabel(self.split.train)
        model_cfg = config.model
        if model_cfg.num_classes != len(self.labels):
            model_cfg = dataclasses.replace(model_cfg, num_classes=len(self.labels))
        self.precision = step_precision(config.train, self.device)
        self.config = dataclasses.replace(
            config, model=model_cfg, train=resolved_train_config(config.train, self.precision)
        )
        self.cuda = self.device.type == "cuda"

        # Denormal floats make CPU kernels orders of magnitude slower once weights shrink; flush them to zero.
        torch.set_flush_denormal(True)
        if self.cuda:  # every batch has one shape: let cuDNN time its algorithms once and keep the fastest
            torch.backends.cudnn.benchmark = True
        torch.manual_seed(self.config.train.seed)
        # A resumed run restores its own weights: never fetch the ImageNet initialisation again for it.
        init = dataclasses.replace(self.config.model, pretrained=None) if resume else self.config.model
        self.model: TwoStreamReID = build_model(init).to(self.device)
        if self.config.train.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = build_optimizer(self.model, self.config.train)
        self.scaler = self.precision.scaler()
        self.log = MetricsLog(out)
        self.start_epoch = 0
        self.best: dict[str, Any] = {}
        if resume:
            self._restore()
        elif self.dist.is_main:
            out.mkdir(parents=True, exist_ok=True)
            save_config(out, self.config)
            self.log.reset()
        self.net: torch.nn.Module = self.model
        if self.dist.enabled:
            self.net = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.dist.local_rank] if self.cuda else None
            )
        if self.config.train.compile:
            # The module keeps its parameters: state_dict, checkpoints and evaluation use self.model as before.
            self.net = torch.compile(self.net)  # type: ignore[assignment]

    def _restore(self) -> None:
        state = load_state(self.out)
        if int(state["epoch"]) >= self.config.train.epochs:
            raise VireidError(f"{self.out} already finished all {self.config.train.epochs} epochs; nothing to resume")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        self.start_epoch = int(state["epoch"])
        self.best = dict(state.get("best", {}))
        if self.dist.is_main:
            self.log.truncate(int(state["metrics_lines"]))

    def _loader(self, epoch: int) -> DataLoader[Any]:
        cfg = self.config
        visible, infrared = self.split.visible, self.split.infrared
        sampler = CrossModalIdentitySampler(
            [s.pid for s in visible],
            [s.pid for s in infrared],
            cfg.train.ids_per_batch,
            cfg.train.images_per_id,
            cfg.train.batches_per_epoch,
            seed=cfg.train.seed,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
        )
        sampler.set_epoch(epoch)
        transforms = train_transforms(
            cfg.model.height,
            cfg.model.width,
            cfg.data.pad,
            cfg.data.flip,
            exchange=cfg.train.channel_aug,
            grey=cfg.train.grey_aug,
        )
        dataset = CrossModalTrainSet(visible, infrared, self.labels, transforms)
        return DataLoader(
            dataset,
            batch_sampler=sampler,
            num_workers=cfg.data.workers,
            pin_memory=self.cuda,
        )

    def _step(self, visible: torch.Tensor, infrared: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        memory = torch.channels_last if self.config.train.channels_last else torch.contiguous_format
        visible = visible.to(self.device, non_blocking=True, memory_format=memory)
        infrared = infrared.to(self.device, non_blocking=True, memory_format=memory)
        labels = labels.to(self.device)
        all_labels = torch.cat([labels, labels])
        modalities = torch.cat([torch.zeros_like(labels), torch.ones_like(labels)])
        with self.precision.autocast():
            out = self.net(visible, infrared)
        terms = reid_loss(out, all_labels, modalities, self.config.train)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(terms["loss"]).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return {key: float(value.detach()) for key, value in terms.items()}

    def _run_epoch(self, epoch: int) -> dict[str, float]:
        rates = set_learning_rates(self.optimizer, epoch, self.config.train)
        self.net.train()
        loader = self._loader(epoch)
        totals: dict[str, float] = {}
        images = 0
        start = time.perf_counter()
        steps = len(loader)
        description = f"epoch {epoch + 1}/{self.config.train.epochs}"
        with progress(steps, description, self.show_progress and self.dist.is_main) as advance:
            for step, (visible, infrared, labels) in enumerate(loader):
                terms = self._step(visible, infrared, labels)
                for key, value in terms.items():
                    totals[key] = totals.get(key, 0.0) + value
                images += 2 * len(labels)
                advance(1)
                if not self.show_progress and self.dist.is_main and (step + 1) % self.config.train.log_every == 0:
                    rate = images / (time.perf_counter() - start)
                    log(f"{description} step {step + 1}/{steps} loss {terms['loss']:.3f} {rate:.1f} img/s")
                    self.log.append({"event": "step", "epoch": epoch + 1, "step": step + 1, **terms})
        seconds = time.perf_counter() - start
        means = self.dist.mean({key: value / steps for key, value in totals.items()}, self.device)
        total_images = self.dist.sum({"images": float(images)}, self.device)["images"]
        return {
            **means,
            "lr_backbone": rates["backbone"],
            "lr_head": rates["head"],
            "images_per_s": total_images / seconds,
            "seconds": seconds,
        }

    def _validate(self, epoch: int) -> dict[str, float] | None:
        last = epoch + 1 == self.config.train.epochs
        if self.split.selection == "last" or not ((epoch + 1) % self.config.train.eval_every == 0 or last):
            return None
        metrics = validation_metrics(self.model, self.split, self.config, self.device, self.show_progress)
        self.model.train()
        return metrics

    def _checkpoint(self, epoch: int, summary: dict[str, float], val: dict[str, float] | None) -> None:
        improved = val is not None and (not self.best or (val["R1"], val["mAP"]) > (self.best["R1"], self.best["mAP"]))
        if improved and val is not None:
            self.best = {"epoch": epoch + 1, "R1": val["R1"], "mAP": val["mAP"], "mINP": val["mINP"]}
            save_weights(self.out / BEST_WEIGHTS_FILE, self.model.state_dict())
        save_weights(self.out / WEIGHTS_FILE, self.model.state_dict())
        record: dict[str, Any] = {"event": "epoch", "epoch": epoch + 1, **summary}
        if val is not None:
            record["val"] = {"selection": self.split.selection, **val, "best_epoch": self.best.get("epoch")}
        self.log.append(record)
        state = {
            "epoch": epoch + 1,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.precision.needs_scaler else {},
            "best": self.best,
            "rng": {"torch": torch.get_rng_state()},
            "metrics_lines": self.log.count(),
        }
        save_state(self.out, state)

    def fit(self) -> TrainResult:
        cfg = self.config.train
        if self.dist.is_main:
            ids = len(self.labels)
            log(
                f"training {self.config.model.backbone} {self.config.model.attention} on {self.layout} "
                f"({ids} identities, {len(self.split.train)} images, model selection: {self.split.selection}"
                f"{f' on {len(self.split.val_ids)} held-out ids' if self.split.val_ids else ''}) on {self.device}"
                + (f" x {self.dist.world_size} processes" if self.dist.enabled else "")
                + f", {self.precision.name}{' autocast' if self.precision.autocast_enabled else ''}"
                + (", torch.compile" if cfg.compile else "")
            )
        started = time.perf_counter()
        summary: dict[str, float] = {}
        for epoch in range(self.start_epoch, cfg.epochs):
            summary = self._run_epoch(epoch)
            val = self._validate(epoch) if self.dist.is_main else None
            if self.dist.is_main:
                self._checkpoint(epoch, summary, val)
                val_text = f" val R1 {100 * val['R1']:.1f} mAP {100 * val['mAP']:.1f}" if val else ""
                log(
                    f"epoch {epoch + 1}/{cfg.epochs} loss {summary['loss']:.3f} (ce {summary['ce']:.3f} "
                    f"tri {summary['triplet']:.3f} parts {summary['part_triplet']:.3f}) "
                    f"{summary['images_per_s']:.1f} img/s{val_text}"
                )
            self.dist.barrier()
        result = TrainResult(
            epochs=cfg.epochs,
            seconds=time.perf_counter() - started,
            images_per_s=summary.get("images_per_s"),
            best=BestEpoch(**self.best) if self.best else None,
            selection=self.split.selection,
        )
        if self.dist.is_main:
            self.log.append({"event": "done", **result.record()})
        self.dist.close()
        return result


def prepare_out_dir(out: Path, force: bool) -> None:
    """Refuse to mix a new run into an existing one unless `force`; then remove only vireid's own files."""
    existing = [name for name in RUN_FILES if (out / name).exists()]
    if existing and not force:
        raise VireidError(
            f"{out} already holds a run ({', '.join(existing)}); continue it with `vireid train --resume {out}`, "
            "or pass --force to start over"
        )
    for name in existing:
        (out / name).unlink()


def train(config: RunConfig, out: Path, *, force: bool = False, show_progress: bool | None = None) -> TrainResult:
    """Start a run in `out` and train it to the end."""
    if not config.data.root:
        raise VireidError("no dataset: pass --data PATH (or set data.root in the config)")
    if int(os.environ.get("RANK", "0")) == 0:
        prepare_out_dir(out, force)
    return Trainer(config, out, show_progress=show_progress).fit()


def resume(
    out: Path, data_root: str | None = None, show_progress: bool | None = None, changes: Sequence[str] = ()
) -> TrainResult:
    """Continue the run in `out` from its last completed epoch, with its own config.toml.

    `changes` names what the caller asked to change besides the dataset's location (command-line options such
    as --preset or --set); a resumed run must continue exactly, so any is refused in one line."""
    if changes:
        raise VireidError(
            f"--resume continues a run with its own config.toml; drop {'/'.join(changes)} (only --data may be given)"
        )
    config = load_config(out)
    if data_root:
        config = dataclasses.replace(config, data=dataclasses.replace(config.data, root=data_root))
    return Trainer(config, out, resume=True, show_progress=show_progress).fit()
