"""The `vireid` command line: one module per verb, each a thin typed wrapper around an importable function.

Modules here import only typer and the standard library at import time; torch, onnx and friends are imported
inside the command functions so that `vireid --help` is instant.
"""
