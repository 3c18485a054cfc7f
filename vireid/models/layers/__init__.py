"""Small reusable layers: CBAM, MGSA and MSAM (docs/architecture.md, "The paper"), GeM pooling, strip helpers."""

from vireid.models.layers.cbam import CBAM, ChannelAttention, SpatialAttention
from vireid.models.layers.gem import GeM
from vireid.models.layers.mgsa import MultiGranularitySpatialAttention
from vireid.models.layers.msam import ModalitySpecificAttention
from vireid.models.layers.strips import split_rows

__all__ = [
    "CBAM",
    "ChannelAttention",
    "GeM",
    "ModalitySpecificAttention",
    "MultiGranularitySpatialAttention",
    "SpatialAttention",
    "split_rows",
]
