"""int8 Q/DQ graphs: two flavours, calibrated on training images, with the most sensitive layers kept in float.

- `flavours.py`: what distinguishes the TensorRT graph from the CPU graph;
- `calibration.py`: activation ranges per calibration method (ONNX Runtime's calibrators);
- `placement.py`: where Q/DQ goes (inputs of weighted ops, residual inputs of skip adds);
- `quantize.py`: `quantize_static` configured per flavour, plus the TensorRT-shaped post-processing;
- `graph_edit.py`: a quantised graph with chosen layers put back in float (for the search);
- `search.py`: calibration choice, per-layer sensitivity and the greedy search (docs/architecture.md).
"""
