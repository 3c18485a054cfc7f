"""The suite's export memo answers only an identical export: any change to what the exporter sees changes the key."""

from __future__ import annotations

import copy

import torch

from tests.export_memo import export_key


class _Scaled(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, stride=1)
        self.scale = 2.0
        self.register_buffer("offset", torch.zeros(4), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * self.scale + self.offset[:, None, None]


ARGS = (torch.rand(2, 3, 8, 8),)
OPTIONS = {"opset_version": 19, "external_data": False}


def test_an_identical_copy_has_the_same_key() -> None:
    torch.manual_seed(0)
    module = _Scaled()
    assert export_key(module, ARGS, OPTIONS) == export_key(copy.deepcopy(module), (torch.rand(2, 3, 8, 8),), OPTIONS)


def test_weights_buffers_attributes_submodules_inputs_and_options_each_change_the_key() -> None:
    torch.manual_seed(0)
    module = _Scaled()
    key = export_key(module, ARGS, OPTIONS)
    changes = []
    for change in (
        lambda m: m.conv.weight.data.add_(1e-6),
        lambda m: m.offset.add_(1.0),  # a non-persistent buffer: not in the state dict, still in the graph
        lambda m: setattr(m, "scale", 3.0),
        lambda m: setattr(m.conv, "stride", (2, 2)),
        lambda m: m.half(),
    ):
        changed = copy.deepcopy(module)
        change(changed)
        changes.append(export_key(changed, ARGS, OPTIONS))
    changes.append(export_key(module, (torch.rand(2, 3, 8, 16),), OPTIONS))
    changes.append(export_key(module, ARGS, {**OPTIONS, "opset_version": 20}))
    assert key not in changes and len(set(changes)) == len(changes)
