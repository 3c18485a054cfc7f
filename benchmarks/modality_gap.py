"""Where a trained run's cross-modal matching comes from: nearest-neighbour Rank-1 within and across modalities,
on the test identities and on as many training identities.

For each group of identities, every image is a query against every image of the group from another camera:
visible -> visible, infrared -> infrared, and infrared -> visible (the SYSU-MM01 direction). A model that has
learned what the two modalities share scores alike on both groups. One that has memorised which visible
appearance goes with which infrared one scores high across modalities on the training identities only: that is
what the demo preset did at `--ir-coupling 0` (benchmarks/results/demo_recipe/search.md).

usage: python benchmarks/modality_gap.py RUN_DIR SYSU_TREE [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np


def nearest_neighbour_rank1(query: np.ndarray, q_meta: np.ndarray, gallery: np.ndarray, g_meta: np.ndarray) -> float:
    """Share of queries whose most similar gallery image from another camera is of the same identity.
    `*_meta`: N x 2 (identity, camera); features are L2-normalised, so similarity is the dot product."""
    similarity = query @ gallery.T
    similarity[q_meta[:, 1:2] == g_meta[:, 1][None, :]] = -np.inf
    return float((g_meta[similarity.argmax(axis=1), 0] == q_meta[:, 0]).mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("tree", type=Path)
    parser.add_argument("--seed", type=int, default=0, help="which training identities are drawn")
    args = parser.parse_args()

    from vireid.data.sysu import SYSUMM01
    from vireid.eval.extract import torch_embedder
    from vireid.eval.protocols import ExtractOptions, embed_samples
    from vireid.io.rundir import load_run

    config, model = load_run(args.run)
    visible_branch, infrared_branch = torch_embedder(model.branch("visible")), torch_embedder(model.branch("infrared"))
    options = ExtractOptions(config.model.height, config.model.width, show_progress=False)
    sysu = SYSUMM01(args.tree)
    test_ids = sysu.test_ids()
    train_ids = sysu.train_ids()
    random.Random(args.seed).shuffle(train_ids)
    print(f"{args.run} on {args.tree}: nearest-neighbour Rank-1 %, other camera only")
    print("| identities | visible images | infrared images | V -> V | I -> I | I -> V |")
    print("|---|---|---|---|---|---|")
    for name, ids in (("test", test_ids), ("training", train_ids[: len(test_ids)])):
        samples = sysu.samples_of(ids)
        features, meta = {}, {}
        for modality in ("visible", "infrared"):
            chosen = [s for s in samples if s.modality == modality]
            features[modality] = embed_samples(chosen, visible_branch, infrared_branch, options, modality)
            meta[modality] = np.array([(s.pid, s.camid) for s in chosen])
        v, i = features["visible"], features["infrared"]
        cells = [
            nearest_neighbour_rank1(v, meta["visible"], v, meta["visible"]),
            nearest_neighbour_rank1(i, meta["infrared"], i, meta["infrared"]),
            nearest_neighbour_rank1(i, meta["infrared"], v, meta["visible"]),
        ]
        print(f"| {len(ids)} {name} | {len(v)} | {len(i)} | " + " | ".join(f"{100 * c:.1f}" for c in cells) + " |")
    return 0


if __name__ == "__main__":
    from vireid.errors import VireidError

    try:
        sys.exit(main())
    except VireidError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
