"""TwoStreamReID: shapes, normalisation, gradients, branches, torchvision compatibility."""

from __future__ import annotations

import pytest
import torch
import torchvision

from tests.helpers import TINY_HEIGHT, TINY_WIDTH, tiny_model_config
from vireid.config import ATTENTION_VARIANTS, BACKBONES
from vireid.models import build_model
from vireid.models.pretrained import load_backbone_weights


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 3, TINY_HEIGHT, TINY_WIDTH, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("attention", ATTENTION_VARIANTS)
def test_forward_shapes_and_unit_norm(backbone: str, attention: str) -> None:
    cfg = tiny_model_config(backbone=backbone, attention=attention, part_dim=32)
    model = build_model(cfg).eval()
    with torch.no_grad():
        out = model(_images(2, 0), _images(3, 1))
    assert out.part_features.shape == (5, cfg.parts, 32)
    assert out.part_logits.shape == (5, cfg.parts, cfg.num_classes)
    assert out.embedding.shape == (5, cfg.embedding_dim)
    torch.testing.assert_close(out.embedding.norm(dim=1), torch.ones(5))


def test_output_type_is_the_same_in_train_and_eval() -> None:
    model = build_model(tiny_model_config())
    train_out = model.train()(_images(2, 0), _images(2, 1))
    eval_out = model.eval()(_images(2, 0), _images(2, 1))
    assert type(train_out) is type(eval_out)
    assert train_out.part_features.shape == eval_out.part_features.shape


@pytest.mark.parametrize("attention", ["mgsa", "msam", "mgsa+msam"])
@pytest.mark.parametrize("share_from", [1, 2, 3])
def test_gradients_reach_both_stems_and_every_attention_module(attention: str, share_from: int) -> None:
    model = build_model(tiny_model_config(attention=attention, share_from=share_from)).train()
    out = model(_images(4, 0), _images(4, 1))
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    loss = out.part_logits.mean(dim=1).logsumexp(1).mean() + out.part_features.pow(2).mean()
    loss = loss + torch.nn.functional.cross_entropy(out.part_logits[:, 0], labels)
    loss.backward()
    for name in ("visible_stem", "infrared_stem", "visible_attention", "infrared_attention"):
        module = getattr(model, name)
        params = list(module.parameters())
        assert params, f"{name} has no parameters"
        for param_name, param in module.named_parameters():
            assert param.grad is not None and param.grad.abs().sum() > 0, f"no gradient in {name}.{param_name}"


@pytest.mark.parametrize("share_from", [1, 2, 3, 4, 5])
def test_branches_equal_the_joint_forward_in_eval(share_from: int) -> None:
    model = build_model(tiny_model_config(share_from=share_from)).eval()
    xv, xi = _images(2, 0), _images(3, 1)
    with torch.no_grad():
        joint = model(xv, xi).embedding
        visible = model.branch("visible")(xv)
        infrared = model.branch("infrared")(xi)
    torch.testing.assert_close(visible, joint[:2], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(infrared, joint[2:], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(visible, model.branch("infrared")(xv))  # modality is structural


def test_share_from_controls_which_stages_are_per_modality() -> None:
    for share_from in range(1, 6):
        model = build_model(tiny_model_config(share_from=share_from))
        stem_layers = {name.split(".")[0] for name, _ in model.visible_stem.named_parameters()}
        trunk_layers = {name.split(".")[0] for name, _ in model.trunk.named_parameters()}
        expected_stem = {"conv1", "bn1"} | {f"layer{i}" for i in range(1, share_from)}
        assert stem_layers == expected_stem
        assert trunk_layers == {f"layer{i}" for i in range(share_from, 5)}


def test_branch_shares_parameters_with_the_model() -> None:
    model = build_model(tiny_model_config())
    branch = model.branch("visible")
    assert branch.stem.conv1.weight is model.visible_stem.conv1.weight
    with pytest.raises(ValueError, match="modality"):
        model.branch("thermal")  # type: ignore[arg-type]


def test_model_does_not_modify_its_input() -> None:
    model = build_model(tiny_model_config()).train()
    xv, xi = _images(2, 0), _images(2, 1)
    xv_copy, xi_copy = xv.clone(), xi.clone()
    model(xv, xi).part_features.sum().backward()
    model.eval().branch("visible")(xv)
    assert torch.equal(xv, xv_copy) and torch.equal(xi, xi_copy)


def test_last_stride_is_one() -> None:
    model = build_model(tiny_model_config(backbone="resnet50")).eval()
    features = {}
    model.trunk.layer4.register_forward_hook(lambda _m, _i, out: features.setdefault("layer4", out))
    with torch.no_grad():
        model.branch("visible")(_images(1, 0))
    assert features["layer4"].shape[2:] == (TINY_HEIGHT // 16, TINY_WIDTH // 16)


def test_torchvision_resnet50_state_dict_loads_into_both_stems_and_the_trunk() -> None:
    model = build_model(tiny_model_config(backbone="resnet50"))
    reference = torchvision.models.resnet50(weights=None)
    with torch.no_grad():
        for p in reference.parameters():
            p.normal_()
    state = reference.state_dict()
    load_backbone_weights(model, state, "test")  # raises on any missing or unexpected backbone key
    for part in (model.visible_stem, model.infrared_stem):
        torch.testing.assert_close(part.conv1.weight, state["conv1.weight"])
        torch.testing.assert_close(part.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])
    torch.testing.assert_close(model.trunk.layer4[2].conv3.weight, state["layer4.2.conv3.weight"])
    torch.testing.assert_close(model.trunk.layer2[0].bn1.running_mean, state["layer2.0.bn1.running_mean"])
    # every backbone key of torchvision has a home in each copy
    backbone_keys = {k for k in state if not k.startswith("fc.")}
    stem_keys = set(model.visible_stem.state_dict())
    trunk_keys = set(model.trunk.state_dict())
    assert stem_keys | trunk_keys == backbone_keys
    assert set(model.infrared_stem.state_dict()) == stem_keys
