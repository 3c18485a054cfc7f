"""Retrieval evaluation under the datasets' own protocols (docs/architecture.md, "Evaluation").

- `splits.py`: the one definition of a dataset's evaluation split and training split, which the export's gate,
  the bench, training's test-split selection and `gallery eval` all use;
- `metrics.py`: CMC, mAP and mINP under the `sysu` and `regdb` protocols, vectorised, with SYSU-MM01's camera
  rule (`excluded_cameras`, also applied by `gallery eval` as a filter); `reference.py`, the published per-query
  loop it is tested against;
- `extract.py` and `protocols.py`: embedding the split through any embedder (a torch branch or a runtime
  backend) and scoring it per trial; `runs.py`: `vireid eval` over run directories;
- `report.py`: the result as a typed, versioned record (`eval.json`).
"""
