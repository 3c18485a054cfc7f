"""The attention layers: the equivalences the paper states, strip semantics, shapes."""

from __future__ import annotations

import pytest
import torch

from vireid.models.layers import (
    CBAM,
    GeM,
    ModalitySpecificAttention,
    MultiGranularitySpatialAttention,
    SpatialAttention,
    split_rows,
)


def _randomise(module: torch.nn.Module) -> None:
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.normal_(0, 0.5)


def test_mgsa_with_one_strip_is_cbam_spatial_attention() -> None:
    torch.manual_seed(0)
    spatial = SpatialAttention()
    _randomise(spatial)
    mgsa = MultiGranularitySpatialAttention(strips=1)
    mgsa.load_state_dict(spatial.state_dict())  # same weights, strict
    x = torch.randn(3, 16, 12, 6)
    torch.testing.assert_close(mgsa(x), spatial(x), rtol=0, atol=0)


def test_mgsa_with_strips_differs_and_keeps_strip_borders() -> None:
    torch.manual_seed(0)
    mgsa = MultiGranularitySpatialAttention(strips=4)
    _randomise(mgsa)
    spatial = SpatialAttention()
    spatial.load_state_dict({"conv.weight": mgsa.conv.weight})
    x = torch.randn(2, 8, 12, 6)
    assert not torch.allclose(mgsa(x), spatial(x))
    # The local map of the first strip depends on that strip only.
    y = x.clone()
    y[:, :, 3:] += torch.randn_like(y[:, :, 3:])
    local_first = lambda t: torch.sigmoid(mgsa.local_conv(torch.cat([t.mean(1, True), t.amax(1, True)], 1)))  # noqa: E731
    strips_x, strips_y = split_rows(x, 4), split_rows(y, 4)
    torch.testing.assert_close(local_first(strips_x[0]), local_first(strips_y[0]))


def test_msam_with_one_strip_is_cbam() -> None:
    torch.manual_seed(0)
    cbam = CBAM(32)
    _randomise(cbam)
    msam = ModalitySpecificAttention(32, strips=1)
    msam.channels[0].load_state_dict(cbam.channel.state_dict())
    msam.spatial.load_state_dict(cbam.spatial.state_dict())
    x = torch.randn(2, 32, 10, 5)
    torch.testing.assert_close(msam(x), cbam(x), rtol=0, atol=0)


def test_msam_strips_have_their_own_channel_attention() -> None:
    torch.manual_seed(0)
    msam = ModalitySpecificAttention(32, strips=2)
    _randomise(msam)
    assert len(msam.channels) == 2
    assert not torch.equal(msam.channels[0].fc1.weight, msam.channels[1].fc1.weight)
    x = torch.randn(2, 32, 10, 5)
    assert msam(x).shape == x.shape


@pytest.mark.parametrize(("height", "strips", "sizes"), [(12, 4, [3, 3, 3, 3]), (10, 4, [3, 3, 2, 2]), (7, 2, [4, 3])])
def test_strips_follow_tensor_split(height: int, strips: int, sizes: list[int]) -> None:
    x = torch.randn(1, 2, height, 3)
    parts = split_rows(x, strips)
    assert [p.shape[2] for p in parts] == sizes
    torch.testing.assert_close(torch.cat(parts, dim=2), x)


def test_gem_matches_formula_and_stays_fp32_for_half_input() -> None:
    x = torch.rand(2, 4, 3, 3) * 50
    gem = GeM(3.0)
    expected = (x.pow(3).mean(dim=(2, 3), keepdim=True) + 1e-12).pow(1 / 3)
    torch.testing.assert_close(gem(x), expected)
    # 50^10 overflows float16; GeM computes in float32 anyway.
    out = GeM(10.0)(x.half())
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
