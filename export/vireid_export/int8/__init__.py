"""int8 Q/DQ graphs: two flavours, calibrated on training images, with the most sensitive layers kept in float.

- `flavours.py`: what distinguishes the TensorRT graph from the CPU graph;
- `calibration.py`: activation ranges per calibration method (ONNX Runtime's calibrators);
- `placement.py`: where Q/DQ goes (per flavour: inputs of weighted ops, skip adds, outputs);
- `quantize.py`: `quantize_static` configured per flavour, plus the TensorRT-shaped post-processing;
- `graph_edit.py`: a quantised graph with chosen layers put back in float (for the search);
- `layer_error.py`, `cost.py`: every layer's own int8 error in one run, and what keeping it float costs;
- `search.py`: ranges from the screened images, the ranking, its bisection and the give-back
  (docs/architecture.md, "int8");
- `speed.py`: the two CPU placements timed side by side when both were searched.
"""
