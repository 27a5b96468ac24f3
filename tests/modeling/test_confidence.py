"""UV confidence (WC1 iid_iso, WC2 indep_aniso): the Gaussian NLL, the predictor's outputs, the U/V loss."""
import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from densepose_ext.modeling.confidence import gaussian_uv_nll, uv_variance
from densepose_ext.modeling.confidence_predictor import DensePoseChartWithConfidencePredictor
from densepose_ext.modeling.losses import densepose_chart_losses, zero_densepose_losses
from densepose_ext.modeling.predictor import DensePoseChartOutput, DensePoseChartPredictor
from densepose_ext.structures.targets import DensePoseTargets

torch.set_num_threads(1)
EPS = 0.01
PREDICTOR = dict(num_coarse_segm_channels=2, num_patches=24, deconv_kernel=4, up_scale=2)


def _points(p=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(p, generator=g, dtype=torch.float64) for _ in range(5)]


def test_nll_is_the_gaussian_log_density_with_the_reference_constant():
    """Per point the reference's value is the exact 2D Gaussian NLL minus 0.5 log(2 pi)."""
    du, dv, sigma_2, ku, kv = _points()
    s = uv_variance(sigma_2, EPS)
    r = torch.stack([ku, kv], dim=1)
    cov = s[:, None, None] * torch.eye(2, dtype=torch.float64) + r[:, :, None] * r[:, None, :]
    delta = torch.stack([du, dv], dim=1)
    exact = -MultivariateNormal(torch.zeros(2, dtype=torch.float64), cov).log_prob(delta)
    offset = 0.5 * math.log(2 * math.pi) * len(du)
    torch.testing.assert_close(gaussian_uv_nll(du, dv, sigma_2, EPS, ku, kv), exact.sum() - offset)
    iso = -MultivariateNormal(torch.zeros(2, dtype=torch.float64), s[:, None, None] * torch.eye(2)).log_prob(delta)
    torch.testing.assert_close(gaussian_uv_nll(du, dv, sigma_2, EPS), iso.sum() - offset)


def test_nll_known_values_and_isotropic_limit():
    zero = torch.zeros(1)
    sigma_unit = torch.log(torch.expm1(torch.tensor([1.0 - EPS])))  # softplus(.) + EPS = 1
    # delta = 0, s = 1: 0.5 log(2 pi); delta = (0.6, 0.8): + 0.5 |delta|^2 = 0.5
    assert gaussian_uv_nll(zero, zero, sigma_unit, EPS).item() == pytest.approx(0.5 * math.log(2 * math.pi))
    got = gaussian_uv_nll(torch.tensor([0.6]), torch.tensor([0.8]), sigma_unit, EPS).item()
    assert got == pytest.approx(0.5 * math.log(2 * math.pi) + 0.5, rel=1e-6)
    # r along delta with |r|^2 = 3: Sigma's eigenvalue along delta is 4: 0.5 (log 2pi + log 4 + 1/4)
    r = (torch.tensor([0.6 * 3**0.5]), torch.tensor([0.8 * 3**0.5]))
    got = gaussian_uv_nll(torch.tensor([0.6]), torch.tensor([0.8]), sigma_unit, EPS, *r).item()
    assert got == pytest.approx(0.5 * (math.log(2 * math.pi) + math.log(4) + 0.25), rel=1e-6)
    du, dv, sigma_2, _, _ = _points()
    torch.testing.assert_close(gaussian_uv_nll(du, dv, sigma_2, EPS, du * 0, dv * 0), gaussian_uv_nll(du, dv, sigma_2, EPS))


def test_variance_never_below_epsilon():
    assert uv_variance(torch.tensor([-1e4, 0.0, 30.0]), EPS).tolist() == pytest.approx([EPS, math.log(2) + EPS, 30 + EPS])


@pytest.mark.parametrize("kind, extra", [(None, ()), ("iid_iso", ("sigma_2",)),
                                         ("indep_aniso", ("sigma_2", "kappa_u", "kappa_v"))])
def test_confidence_predictor_outputs_and_parameters(kind, extra):
    plain = DensePoseChartPredictor(16, **PREDICTOR)
    conf = DensePoseChartWithConfidencePredictor(16, uv_confidence=kind, **PREDICTOR)
    added = set(conf.state_dict()) - set(plain.state_dict())
    assert added == {f"{n}_lowres.{p}" for n in extra for p in ("weight", "bias")}
    conf.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(3, 16, 5, 5)
    out, ref = conf(x), plain(x)
    for name in ("coarse_segm", "fine_segm", "u", "v"):
        assert torch.equal(getattr(out, name), getattr(ref, name))
    assert list(out.confidences()) == list(extra)
    assert all(t.shape == (3, 25, 20, 20) for t in out.confidences().values())


def test_confidence_predictor_refuses_unknown_type():
    with pytest.raises(ValueError, match="UV_CONFIDENCE.TYPE must be one of \\['iid_iso', 'indep_aniso'\\], got 'full'"):
        DensePoseChartWithConfidencePredictor(16, uv_confidence="full", **PREDICTOR)


def _confidence_outputs(kind, n=1, s=4, seed=0):
    g = torch.Generator().manual_seed(seed)

    def t():
        return torch.randn(n, 25, s, s, generator=g).requires_grad_()

    extra = {"sigma_2": t()} if kind == "iid_iso" else {"sigma_2": t(), "kappa_u": t(), "kappa_v": t()}
    return DensePoseChartOutput(coarse_segm=torch.zeros(n, 2, s, s, requires_grad=True), fine_segm=t(), u=t(),
                                v=t(), **extra)


WEIGHTS = {"part_weight": 1.0, "point_regression_weight": 0.5, "index_weight": 1.0, "uv_confidence_epsilon": EPS}


@pytest.mark.parametrize("kind", ["iid_iso", "indep_aniso"])
def test_uv_loss_with_confidences_reads_the_points_part_channel(kind):
    out = _confidence_outputs(kind)
    # points at the centres of cells (r, c) = (2, 1) and (0, 3) of a 4x4 ROI over a 4x4 px box
    t = [DensePoseTargets(x=torch.tensor([1.5, 3.5]), y=torch.tensor([2.5, 0.5]), i=torch.tensor([7, 12]),
                          u=torch.tensor([0.3, 0.9]), v=torch.tensor([0.6, 0.1]), coarse_masks=None,
                          mask_box=torch.tensor([0.0, 0.0, 4.0, 4.0]))]
    losses = densepose_chart_losses(out, torch.tensor([[0.0, 0.0, 4.0, 4.0]]), t, **WEIGHTS)
    assert "loss_densepose_U" not in losses and "loss_densepose_V" not in losses
    cells = [(7, 2, 1), (12, 0, 3)]

    def at(m):
        return torch.stack([m[0, k, r, c] for k, r, c in cells])

    kappa = (at(out.kappa_u), at(out.kappa_v)) if kind == "indep_aniso" else ()
    expected = 0.5 * gaussian_uv_nll(at(out.u) - t[0].u, at(out.v) - t[0].v, at(out.sigma_2), EPS, *kappa)
    torch.testing.assert_close(losses["loss_densepose_UV"], expected)
    losses["loss_densepose_UV"].backward()
    assert out.sigma_2.grad[0, 7, 2, 1] != 0 and out.sigma_2.grad.ne(0).sum() == 2


@pytest.mark.parametrize("kind", ["iid_iso", "indep_aniso"])
def test_zero_losses_keep_every_confidence_output_in_the_graph(kind):
    out = _confidence_outputs(kind, n=2)
    losses = zero_densepose_losses(out)
    assert set(losses) == {"loss_densepose_I", "loss_densepose_UV", "loss_densepose_S"}
    sum(losses.values()).backward()
    assert all(m.grad is not None and m.grad.abs().sum() == 0 for m in out.maps().values())


@pytest.mark.parametrize("head", ["DensePoseV1ConvXHead", "DensePoseDeepLabHead"])
def test_roi_heads_train_the_confidences_of_the_selected_head(head):
    from detectron2.layers import ShapeSpec
    from detectron2.modeling import build_roi_heads
    from detectron2.structures import Boxes, Instances
    from detectron2.utils.events import EventStorage

    from .tiny import blob_dataset, densepose_cfg

    cfg = densepose_cfg("configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml")
    h = cfg.MODEL.ROI_DENSEPOSE_HEAD
    h.NAME, h.NUM_STACKED_CONVS, h.CONV_HEAD_DIM = head, 2, 32
    h.UV_CONFIDENCE.ENABLED, h.UV_CONFIDENCE.TYPE = True, "indep_aniso"
    heads = build_roi_heads(cfg, {f"p{k}": ShapeSpec(channels=64, stride=2**k) for k in range(2, 7)}).train()
    inputs = blob_dataset(2)
    g = torch.Generator().manual_seed(0)
    features = {f"p{k}": torch.randn(2, 64, 96 // 2**k, 96 // 2**k, generator=g) for k in range(2, 7)}
    proposals = [Instances(x["instances"].image_size, proposal_boxes=Boxes(x["instances"].gt_boxes.tensor.clone()),
                           objectness_logits=torch.ones(1)) for x in inputs]
    with EventStorage(0):
        _, losses = heads(None, features, proposals, [x["instances"] for x in inputs])
    assert sorted(k for k in losses if "densepose" in k) == ["loss_densepose_I", "loss_densepose_S",
                                                             "loss_densepose_UV"]
    losses["loss_densepose_UV"].backward()
    for name in ("sigma_2_lowres", "kappa_u_lowres", "kappa_v_lowres", "u_lowres"):
        assert getattr(heads.densepose_predictor, name).weight.grad.abs().sum() > 0, name
    assert type(heads.densepose_head).__name__ == head
