"""UV confidence estimation (the reference's "WC1"/"WC2" models; Neverova, Novotny, Vedaldi,
"Correlated Uncertainty for Learning Dense Correspondences from Noisy Labels", NeurIPS 2019).

The predictor adds, per part channel, the parameters of a 2D Gaussian over the residual
delta = (u - u_gt, v - v_gt) of each annotated point:
- "iid_iso" (WC1):     Sigma = s I                        outputs sigma_2
- "indep_aniso" (WC2): Sigma = s I + r r^T, r = (kappa_u, kappa_v)   outputs sigma_2, kappa_u, kappa_v
with the variance s = softplus(sigma_2) + epsilon (UV_CONFIDENCE.EPSILON keeps it away from the
degenerate s -> 0). The U/V loss is the negative log-likelihood summed over points, written as the
reference writes it:
    0.5 * (log(2 pi) + log det Sigma + delta^T Sigma^-1 delta),
    det Sigma = s (s + |r|^2),  delta^T Sigma^-1 delta = |delta|^2 / s - <delta, r>^2 / (s (s + |r|^2)).
(The exact 2D Gaussian NLL has log(2 pi) without the 0.5: each point's value is 0.5 log(2 pi) lower than
the true NLL. The constant does not change gradients; it is kept so loss values equal the reference's.)
With r = 0 the anisotropic formula is the isotropic one.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import torch
from torch.nn import functional as F

# UV_CONFIDENCE.TYPE -> the predictor outputs it adds (names of DensePoseChartOutput fields).
UV_CONFIDENCE_OUTPUTS: Dict[str, Tuple[str, ...]] = {
    "iid_iso": ("sigma_2",),
    "indep_aniso": ("sigma_2", "kappa_u", "kappa_v"),
}


def uv_confidence_type(cfg) -> Optional[str]:
    """MODEL.ROI_DENSEPOSE_HEAD.UV_CONFIDENCE.TYPE when UV confidence is enabled, else None."""
    c = cfg.MODEL.ROI_DENSEPOSE_HEAD.UV_CONFIDENCE
    return c.TYPE if c.ENABLED else None


def uv_variance(sigma_2: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Raw predictor output sigma_2 (any shape, unbounded) -> variance s = softplus(sigma_2) + epsilon > 0."""
    return F.softplus(sigma_2) + epsilon


def gaussian_uv_nll(
    delta_u: torch.Tensor,
    delta_v: torch.Tensor,
    sigma_2: torch.Tensor,
    epsilon: float,
    kappa_u: Optional[torch.Tensor] = None,
    kappa_v: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Sum over points of the UV negative log-likelihood (module docstring; the reference's constant).

    Args:
        delta_u, delta_v: (P,) residuals u - u_gt, v - v_gt, chart units.
        sigma_2: (P,) raw variance outputs at the points (softplus + epsilon applied here).
        epsilon: UV_CONFIDENCE.EPSILON, lower bound of the variance.
        kappa_u, kappa_v: (P,) the anisotropic direction r, or None for "iid_iso" (r = 0).
    Returns:
        scalar, differentiable w.r.t. every input tensor.
    """
    s = uv_variance(sigma_2, epsilon)
    delta_sq = delta_u**2 + delta_v**2
    if kappa_u is None:
        log_det, mahalanobis = 2 * torch.log(s), delta_sq / s
    else:
        det = s * (s + kappa_u**2 + kappa_v**2)
        log_det = torch.log(det)
        mahalanobis = delta_sq / s - (delta_u * kappa_u + delta_v * kappa_v) ** 2 / det
    return (0.5 * (math.log(2 * math.pi) + log_det + mahalanobis)).sum()
