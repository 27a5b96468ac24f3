"""SOLVER.OPTIMIZER: detectron2's SGD or AdamW, both with detectron2's parameter groups and clipping."""
import pytest
import torch
from detectron2.config import get_cfg

from densepose_ext.config import add_densepose_config
from densepose_ext.engine import build_optimizer


def _cfg(name: str):
    cfg = get_cfg()
    add_densepose_config(cfg)
    cfg.SOLVER.OPTIMIZER = name
    cfg.SOLVER.BASE_LR = 0.01
    return cfg


def _model():
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.GroupNorm(2, 4))


@pytest.mark.parametrize("name,cls", [("SGD", torch.optim.SGD), ("ADAMW", torch.optim.AdamW)])
def test_builds_the_named_optimizer_with_norm_weights_undecayed(name, cls):
    cfg = _cfg(name)
    cfg.SOLVER.WEIGHT_DECAY, cfg.SOLVER.WEIGHT_DECAY_NORM = 1e-4, 0.0
    optimizer = build_optimizer(cfg, _model())
    assert isinstance(optimizer, cls)
    decay_of = {id(p): g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    assert len(decay_of) == 4 and sorted(decay_of.values()) == [0.0, 0.0, 1e-4, 1e-4]  # Linear w, b; GN w, b


def test_adamw_uses_the_configured_betas_and_steps():
    cfg = _cfg("ADAMW")
    cfg.SOLVER.BETAS = (0.8, 0.99)
    model = _model()
    optimizer = build_optimizer(cfg, model)
    assert all(g["betas"] == (0.8, 0.99) for g in optimizer.param_groups)
    before = [p.detach().clone() for p in model.parameters()]
    model(torch.rand(5, 3)).square().sum().backward()
    optimizer.step()
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_clipping_applies_to_adamw():
    cfg = _cfg("ADAMW")
    cfg.SOLVER.CLIP_GRADIENTS.ENABLED = True
    cfg.SOLVER.CLIP_GRADIENTS.CLIP_TYPE = "norm"
    cfg.SOLVER.CLIP_GRADIENTS.CLIP_VALUE = 1e-3
    model = _model()
    optimizer = build_optimizer(cfg, model)
    (model(torch.rand(5, 3)).sum() * 1e6).backward()
    optimizer.step()
    assert all(p.grad.norm() <= 1e-3 * 1.0001 for p in model.parameters())


def test_unknown_optimizer_is_refused_with_the_key():
    with pytest.raises(ValueError, match="SOLVER.OPTIMIZER must be one of .*'ADAM'"):
        build_optimizer(_cfg("ADAM"), _model())
