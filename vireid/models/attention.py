"""The four attention variants of the paper's Table 1, as (visible, infrared) module pairs after stage 2.

- none:      identity in both branches (the baseline);
- mgsa:      visible CBAM whose spatial attention is MGSA(I1); infrared CBAM;
- msam:      visible MSAM(I2) with plain spatial attention; infrared CBAM;
- mgsa+msam: visible MSAM(I2) whose spatial attention is MGSA(I1); infrared CBAM.
Fine granularity for the detail-rich visible images, coarse for the blurrier infrared ones
(docs/architecture.md, "The paper", 3.3).
"""

from __future__ import annotations

from torch import nn

from vireid.config import ModelConfig
from vireid.models.layers import CBAM, ModalitySpecificAttention, MultiGranularitySpatialAttention


def build_attention(cfg: ModelConfig, channels: int) -> tuple[nn.Module, nn.Module]:
    """(visible, infrared) attention modules for `cfg.attention` over a map of `channels` channels."""
    if cfg.attention == "none":
        return nn.Identity(), nn.Identity()
    infrared = CBAM(channels)
    if cfg.attention == "mgsa":
        visible: nn.Module = CBAM(channels, spatial=MultiGranularitySpatialAttention(cfg.mgsa_strips))
    elif cfg.attention == "msam":
        visible = ModalitySpecificAttention(channels, cfg.msam_strips)
    elif cfg.attention == "mgsa+msam":
        visible = ModalitySpecificAttention(
            channels, cfg.msam_strips, spatial=MultiGranularitySpatialAttention(cfg.mgsa_strips)
        )
    else:  # ModelConfig validates the name; this guards future variants.
        raise ValueError(f"unknown attention variant {cfg.attention!r}")
    return visible, infrared
