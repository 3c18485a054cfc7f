"""vireid_export: torch branches -> ONNX (fp32 / fp16 / int8 QDQ) -> TensorRT engines, behind a parity gate."""
