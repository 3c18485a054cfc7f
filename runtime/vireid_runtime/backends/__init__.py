"""Backends: ONNX Runtime execution providers (ort-cpu, ort-cuda, ort-trt) and native TensorRT (trt)."""
