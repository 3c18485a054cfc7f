"""The environment of a bench: the machine (`vireid_runtime.machine`, what `auto` matches on), the versions of
every engine, and the threads."""

from __future__ import annotations

import importlib.metadata
import os
import platform

from vireid_runtime.bench_result import Environment
from vireid_runtime.machine import nvidia_smi, this_machine

ENGINES = ("numpy", "torch", "onnxruntime-gpu", "onnxruntime", "openvino", "tensorrt", "tensorrt-cu13")


def _versions() -> dict[str, str]:
    versions = {}
    for name in ENGINES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def fingerprint() -> Environment:
    import onnxruntime
    import torch

    gpu = nvidia_smi()
    return Environment(
        machine=this_machine(),
        platform=platform.platform(),
        python=platform.python_version(),
        versions=_versions(),
        onnxruntime_providers=tuple(onnxruntime.get_available_providers()),
        torch_threads=torch.get_num_threads(),
        omp_num_threads=os.environ.get("OMP_NUM_THREADS", ""),
        cuda_available=torch.cuda.is_available(),
        gpu_driver=gpu.get("driver", ""),
        gpu_memory=gpu.get("gpu_memory", ""),
    )
