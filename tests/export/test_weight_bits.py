"""CPU int8 weights: 8 bits where the CPU's u8 x s8 sums are 32-bit (VNNI, AMX), 7 where 16-bit sums saturate."""

from __future__ import annotations

import pytest

from vireid_export.int8 import flavours


@pytest.mark.parametrize(
    ("flags", "reduce_range"),
    [
        (("avx2", "avx512_vnni", "avx512f"), False),
        (("avx2", "avx_vnni"), False),
        (("amx_int8", "amx_tile", "avx2"), False),
        (("avx2", "fma"), True),
        ((), True),
    ],
)
def test_the_cpu_flavour_uses_8_bit_weights_only_with_vnni(
    monkeypatch: pytest.MonkeyPatch, flags: tuple[str, ...], reduce_range: bool
) -> None:
    monkeypatch.setattr(flavours, "cpu_flags", lambda: flags)
    assert flavours.CPU.weight_reduce_range() is reduce_range
    assert flavours.CPU_INPUTS_ONLY.weight_reduce_range() is reduce_range
    assert flavours.TENSORRT.weight_reduce_range() is False, "TensorRT's int8 is exact int32 accumulation"
