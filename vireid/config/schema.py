"""The config schema: validated, frozen dataclasses, one per TOML table of a run's `config.toml`.

`ModelConfig` is the contract of docs/architecture.md, "The model": everything needed to rebuild the network from a
run directory alone. `DataConfig` and `TrainConfig` carry the paper's recipe (docs/architecture.md, "Training").
Each dataclass checks its own ranges in `__post_init__`, so a config built in code is validated like one read from
TOML (`vireid.config.loader`). No torch here: the CLI parses and validates configs instantly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from vireid.errors import VireidError

ATTENTION_VARIANTS = ("none", "mgsa", "msam", "mgsa+msam")
BACKBONES = ("resnet18", "resnet34", "resnet50")
Attention = Literal["none", "mgsa", "msam", "mgsa+msam"]
Backbone = Literal["resnet18", "resnet34", "resnet50"]
SelectOn = Literal["val", "test", "last"]
AmpDtype = Literal["auto", "bf16", "fp16"]
AMP_CHOICES: tuple[str, ...] = get_args(AmpDtype)
Device = Literal["auto", "cpu", "cuda"]


def require(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise VireidError(f"config: {key} {message}")


@dataclass(frozen=True)
class ModelConfig:
    """The network: two-stream ResNet + MGSA/MSAM attention after stage 2 + PCB/GeM head."""

    backbone: Backbone = "resnet50"
    """torchvision ResNet depth; resnet18/34 exist for fast experiments and tests."""
    share_from: int = 2
    """First shared stage (1..5): conv1..layer{share_from-1} exist once per modality."""
    attention: Attention = "mgsa+msam"
    """Table 1 row of the paper: none (baseline), mgsa, msam or mgsa+msam."""
    mgsa_strips: int = 4
    """I1: horizontal strips of the multi-granularity spatial attention (1 = CBAM spatial attention)."""
    msam_strips: int = 2
    """I2: horizontal strips with their own channel attention in MSAM (1 = plain CBAM)."""
    parts: int = 6
    """PCB horizontal parts of the layer4 map."""
    part_dim: int = 256
    """Width of each part feature after the 1x1 reduction; the embedding is parts * part_dim wide."""
    gem_p: float = 3.0
    """GeM pooling exponent: 3 for SYSU-MM01, 10 for RegDB."""
    height: int = 288
    """Input height in pixels."""
    width: int = 144
    """Input width in pixels."""
    num_classes: int = 395
    """Training identities (classifier width); 395 for SYSU-MM01, 206 for RegDB."""
    pretrained: str | None = None
    """None (random init), "imagenet" (torchvision weights API) or a path to a torchvision ResNet state_dict."""

    def __post_init__(self) -> None:
        require(
            self.backbone in BACKBONES,
            "model.backbone",
            f"must be one of {', '.join(BACKBONES)}, got {self.backbone!r}",
        )
        require(
            self.attention in ATTENTION_VARIANTS,
            "model.attention",
            f"must be one of {', '.join(ATTENTION_VARIANTS)}, got {self.attention!r}",
        )
        require(1 <= self.share_from <= 5, "model.share_from", f"must be in 1..5, got {self.share_from}")
        require(self.mgsa_strips >= 1, "model.mgsa_strips", f"must be >= 1, got {self.mgsa_strips}")
        require(self.msam_strips >= 1, "model.msam_strips", f"must be >= 1, got {self.msam_strips}")
        require(self.parts >= 1, "model.parts", f"must be >= 1, got {self.parts}")
        require(self.part_dim >= 1, "model.part_dim", f"must be >= 1, got {self.part_dim}")
        require(self.gem_p > 0, "model.gem_p", f"must be > 0, got {self.gem_p}")
        require(
            self.height >= 32 and self.width >= 16,
            "model.height",
            f"x width must be >= 32x16, got {self.height}x{self.width}",
        )
        require(self.num_classes >= 2, "model.num_classes", f"must be >= 2, got {self.num_classes}")
        # Feature maps: /8 after layer2 (where the strips are cut), /16 after layer4 (last stride 1).
        strips = max(self.mgsa_strips, self.msam_strips)
        require(self.height // 8 >= strips, "model.height", f"is too small for {strips} attention strips")
        require(self.height // 16 >= self.parts, "model.height", f"is too small for {self.parts} PCB parts")

    @property
    def embedding_dim(self) -> int:
        return self.parts * self.part_dim


@dataclass(frozen=True)
class DataConfig:
    """Where the images come from and how they are augmented (the paper: resize, pad 10 + crop, flip)."""

    root: str = ""
    """Dataset root (SYSU-MM01 or RegDB layout); set by `--data`. Export uses it for parity images."""
    trial: int = 1
    """RegDB split trial (1..10) used for training; ignored for SYSU-MM01."""
    pad: int = 10
    """Zero padding before the random crop."""
    flip: bool = True
    """Random horizontal flip."""
    workers: int = 2
    """DataLoader worker processes (0 loads in the training process)."""

    def __post_init__(self) -> None:
        require(self.pad >= 0, "data.pad", f"must be >= 0, got {self.pad}")
        require(self.workers >= 0, "data.workers", f"must be >= 0, got {self.workers}")
        require(1 <= self.trial <= 10, "data.trial", f"must be in 1..10, got {self.trial}")


@dataclass(frozen=True)
class TrainConfig:
    """The optimisation recipe of docs/architecture.md, "Training" (hetero-center triplet baseline + the paper)."""

    epochs: int = 60
    lr: float = 0.1
    """Learning rate of the part heads; the backbone gets lr * backbone_lr_mult."""
    backbone_lr_mult: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    warmup_epochs: int = 10
    """Linear warm-up: epoch e < warmup_epochs runs at lr * (e + 1) / warmup_epochs."""
    milestones: tuple[int, ...] = (20, 50)
    """Epochs where the learning rate is multiplied by `gamma` (cumulatively)."""
    gamma: float = 0.1
    ids_per_batch: int = 6
    """P: identities per batch."""
    images_per_id: int = 8
    """K: images per identity and modality (a batch holds P*K visible + P*K infrared images)."""
    batches_per_epoch: int = 0
    """0 = as the baseline: max(visible, infrared training images) // (P*K)."""
    w_triplet: float = 1.0
    """Weight of the hetero-center triplet on the whole (concatenated) embedding; 1 in the paper's recipe."""
    w_center: float = 2.0
    """Weight of the per-part hetero-center triplet terms (the baseline's w_center)."""
    margin: float = 0.3
    label_smoothing: float = 0.0
    channel_aug: float = 0.0
    """Channel augmentation of visible images (CAJ, Ye et al. ICCV 2021): the probability of random channel
    exchange (one of R, G, B replicated). 0 in the Table-1 presets (the paper does not use it); the first thing to
    try beyond them."""
    grey_aug: float = 0.0
    """... and of random greyscale (when no exchange was drawn). channel_aug + grey_aug <= 1."""
    seed: int = 0
    device: Device = "auto"
    amp: bool = True
    """Mixed precision: autocast in `amp_dtype`. A run's config.toml records what ran: false where "auto" found no
    fast reduced precision (a CPU without AMX or AVX-512-BF16)."""
    amp_dtype: AmpDtype = "auto"
    """"auto": on a GPU bf16 where it supports it, else fp16 with a gradient scaler; on a CPU bf16 where it has AMX or
    AVX-512-BF16, else none. "bf16" / "fp16" force one (fp16 on CUDA only). Recorded resolved."""
    compile: bool = False
    """torch.compile the network (`vireid train --compile`): faster GPU steps after a compile of a minute or so."""
    channels_last: bool = True
    """channels_last memory format: faster convolutions on CUDA and on CPUs alike (+30% measured on 2 AVX2 cores)."""
    eval_every: int = 5
    """Evaluate for model selection every N epochs (and after the last)."""
    select_on: SelectOn = "last"
    """Model selection: "last" (the final epoch, trained on every training id: the paper's protocol), "val"
    (the best epoch on `val_ids` held-out training ids), "test" (the baseline's habit; recorded, optimistic)."""
    val_ids: int = 20
    """Training identities held out for validation when select_on = "val"."""
    log_every: int = 20
    """Log a plain line every N steps when not on a terminal."""

    def __post_init__(self) -> None:
        require(self.epochs >= 1, "train.epochs", f"must be >= 1, got {self.epochs}")
        require(self.lr > 0, "train.lr", f"must be > 0, got {self.lr}")
        require(self.backbone_lr_mult > 0, "train.backbone_lr_mult", "must be > 0")
        require(self.warmup_epochs >= 0, "train.warmup_epochs", "must be >= 0")
        require(list(self.milestones) == sorted(self.milestones), "train.milestones", "must be increasing")
        require(self.ids_per_batch >= 2, "train.ids_per_batch", "must be >= 2 (the triplet loss needs negatives)")
        require(self.images_per_id >= 1, "train.images_per_id", "must be >= 1")
        require(self.batches_per_epoch >= 0, "train.batches_per_epoch", "must be >= 0")
        require(0.0 <= self.label_smoothing < 1.0, "train.label_smoothing", "must be in [0, 1)")
        require(
            self.channel_aug >= 0 and self.grey_aug >= 0 and self.channel_aug + self.grey_aug <= 1,
            "train.channel_aug",
            f"and train.grey_aug must be >= 0 and sum to <= 1, got {self.channel_aug} and {self.grey_aug}",
        )
        require(self.w_triplet >= 0 and self.w_center >= 0, "train.w_triplet", "and train.w_center must be >= 0")
        require(self.eval_every >= 1, "train.eval_every", "must be >= 1")
        require(self.val_ids >= 0, "train.val_ids", "must be >= 0")
        require(
            self.select_on != "val" or self.val_ids >= 2,
            "train.val_ids",
            'must be >= 2 when select_on = "val" (or choose select_on = "last" / "test")',
        )
        require(self.log_every >= 1, "train.log_every", "must be >= 1")


@dataclass(frozen=True)
class RunConfig:
    """Everything a run directory's config.toml holds: one table per group."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
