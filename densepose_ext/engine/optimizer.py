"""The optimizer named by SOLVER.OPTIMIZER: detectron2's SGD, or AdamW for from-scratch CPU recipes.

Why AdamW: the CPU recipes train every weight from random initialisation in a few hundred to a few thousand
iterations; per-parameter step sizes get a randomly initialised detector moving much sooner than SGD does at
any single learning rate that stays stable. Parameter groups (no weight decay on norms, bias LR factor) and
gradient clipping are detectron2's, so both optimizers honour the same SOLVER keys.
"""
import torch
from detectron2.config import CfgNode
from detectron2.solver.build import get_default_optimizer_params, maybe_add_gradient_clipping

OPTIMIZERS = ("SGD", "ADAMW")


def build_optimizer(cfg: CfgNode, model: torch.nn.Module) -> torch.optim.Optimizer:
    """SGD (momentum, nesterov) or AdamW (SOLVER.BETAS), with SOLVER.BASE_LR and SOLVER.WEIGHT_DECAY."""
    s = cfg.SOLVER
    if s.OPTIMIZER not in OPTIMIZERS:
        raise ValueError(f"SOLVER.OPTIMIZER must be one of {OPTIMIZERS}, got {s.OPTIMIZER!r}")
    params = get_default_optimizer_params(model, base_lr=s.BASE_LR, weight_decay_norm=s.WEIGHT_DECAY_NORM,
                                          bias_lr_factor=s.BIAS_LR_FACTOR, weight_decay_bias=s.WEIGHT_DECAY_BIAS)
    if s.OPTIMIZER == "SGD":
        return maybe_add_gradient_clipping(cfg, torch.optim.SGD)(
            params, lr=s.BASE_LR, momentum=s.MOMENTUM, nesterov=s.NESTEROV, weight_decay=s.WEIGHT_DECAY)
    return maybe_add_gradient_clipping(cfg, torch.optim.AdamW)(
        params, lr=s.BASE_LR, betas=tuple(s.BETAS), weight_decay=s.WEIGHT_DECAY)
