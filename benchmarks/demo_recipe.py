"""One recipe trial for the demo preset: train it (with `--set`-style overrides) on a generated tree, evaluate
SYSU-MM01 all-search single-shot over 10 trials, and append one table line (tree, change, R1, mAP, chance,
loss) to a results file.

The demo recipe search (benchmarks/results/demo_recipe/search.md) is a table of these lines. Trees come
from `vireid data synth --ids 100 --seed S --ir-coupling C` (20 test identities, chance Rank-1 5 %). Two trials
can run side by side with OMP_NUM_THREADS=1 each; their accuracy is what counts, their times are not comparable
to a run alone.

usage: python benchmarks/demo_recipe.py DATA RUN_DIR RESULTS_FILE [table.key=value ...]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    data, out, results, *overrides = sys.argv[1:]
    from vireid.config import load_run_config, replace
    from vireid.data.sysu import SYSUMM01
    from vireid.engine.trainer import train
    from vireid.eval.runs import evaluate_runs
    from vireid.io.atomic import atomic_write_text

    config = load_run_config("demo", overrides=tuple(overrides))
    config = replace(config, data=replace(config.data, root=str(Path(data).resolve())))
    start = time.perf_counter()
    train(config, Path(out), force=True, show_progress=False)
    seconds = time.perf_counter() - start
    report = evaluate_runs([Path(out)], data, mode="all", shots=1, trials=10, show_progress=False)
    metrics = report.mean_std()
    chance = 1 / len(SYSUMM01(Path(data)).test_ids())
    epochs = [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]
    losses = [e["loss"] for e in epochs if e.get("event") == "epoch"]
    line = (
        f"| {Path(data).name} | {' '.join(overrides) or '(demo preset)'} | {100 * metrics['R1'][0]:.1f} ± "
        f"{100 * metrics['R1'][1]:.1f} | {100 * metrics['mAP'][0]:.1f} | {100 * chance:.1f} | "
        f"{losses[0]:.2f} → {losses[-1]:.2f} |"
    )
    print(line)
    print(f"trained in {seconds:.0f} s (comparable only to runs alone on the same machine)", file=sys.stderr)
    path = Path(results)
    previous = path.read_text(encoding="utf-8") if path.exists() else ""
    atomic_write_text(path, previous + line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
