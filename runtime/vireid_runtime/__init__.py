"""vireid_runtime: torch-free inference on exported branches (ONNX Runtime and TensorRT), preprocessing, timing.

This package ships in deployment images with numpy, pillow and onnxruntime only; it never imports torch or
vireid (import-linter enforces it, and a test imports it with torch blocked).
"""
