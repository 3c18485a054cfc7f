"""Shared fixtures and the gpu / trt skips.

Tests use tiny configs (resnet18, small inputs, few ids) except those marked `slow`, which exercise the full
resnet50 288x144 model the paper uses.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")


def _has_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    has_gpu = _has_cuda()
    has_trt = importlib.util.find_spec("tensorrt") is not None and has_gpu
    for item in items:
        # get_closest_marker, not `in item.keywords`: parametrize ids also land in keywords.
        if item.get_closest_marker("gpu") and not has_gpu:
            item.add_marker(pytest.mark.skip(reason="needs an NVIDIA GPU with CUDA"))
        if item.get_closest_marker("trt") and not has_trt:
            item.add_marker(pytest.mark.skip(reason="needs TensorRT and an NVIDIA GPU"))
