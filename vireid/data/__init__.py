"""Datasets (docs/architecture.md, "Data"): readers for SYSU-MM01 and RegDB, checks, previews and a synthetic generator.

- `sample`: `Sample(path, pid, camid, modality)`, what every reader returns;
- `sysu`, `regdb`: the two benchmarks' on-disk layouts and evaluation protocols (query / gallery / trials);
- `layout`: tells the two apart from a bare path;
- `images`, `transforms`: decoding (infrared as grey x 3) and the training / evaluation transforms (torch);
- `check`, `contact_sheet`: `vireid data check` and `vireid data preview`;
- `synthetic`: `vireid data synth`, a generated dataset written in either real layout.

This package root imports neither torch nor numpy; import the submodules you need.
"""

from vireid.data.layout import Layout, detect_layout
from vireid.data.regdb import DIRECTIONS, RegDB
from vireid.data.sample import Modality, Sample
from vireid.data.sysu import SYSUMM01

__all__ = ["DIRECTIONS", "SYSUMM01", "Layout", "Modality", "RegDB", "Sample", "detect_layout"]
