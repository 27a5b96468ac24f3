"""DensePose head and predictor registries, the DeepLab head and its ASPP and non-local block."""
import pytest
import torch
from torch import nn

from densepose_ext.modeling.aspp import ASPP
from densepose_ext.modeling.deeplab_head import DensePoseDeepLabHead
from densepose_ext.modeling.head import ROI_DENSEPOSE_HEAD_REGISTRY, DensePoseV1ConvXHead, build_densepose_head
from densepose_ext.modeling.nonlocal_block import NonLocalBlock2D
from densepose_ext.modeling.predictor import DENSEPOSE_PREDICTOR_REGISTRY, build_densepose_predictor

from .tiny import densepose_cfg

torch.set_num_threads(1)


def _small_cfg(name="DensePoseV1ConvXHead"):
    cfg = densepose_cfg()
    h = cfg.MODEL.ROI_DENSEPOSE_HEAD
    h.NAME, h.NUM_STACKED_CONVS, h.CONV_HEAD_DIM = name, 2, 32
    return cfg


def test_registries_hold_the_reference_names():
    assert sorted(n for n, _ in ROI_DENSEPOSE_HEAD_REGISTRY) == ["DensePoseDeepLabHead", "DensePoseV1ConvXHead"]
    assert sorted(n for n, _ in DENSEPOSE_PREDICTOR_REGISTRY) == [
        "DensePoseChartPredictor", "DensePoseChartWithConfidencePredictor"]


@pytest.mark.parametrize("name, cls", [("DensePoseV1ConvXHead", DensePoseV1ConvXHead),
                                       ("DensePoseDeepLabHead", DensePoseDeepLabHead)])
def test_head_selected_by_name_keeps_roi_size(name, cls):
    head = build_densepose_head(_small_cfg(name), 32)
    assert type(head) is cls and head.n_out_channels == 32
    assert head(torch.randn(3, 32, 7, 7)).shape == (3, 32, 7, 7)


@pytest.mark.parametrize("key, builder", [("NAME", build_densepose_head), ("PREDICTOR_NAME", build_densepose_predictor)])
def test_unknown_name_is_refused_naming_key_and_choices(key, builder):
    cfg = _small_cfg()
    cfg.MODEL.ROI_DENSEPOSE_HEAD[key] = "DensePoseV2Head"
    with pytest.raises(ValueError, match=f"MODEL.ROI_DENSEPOSE_HEAD.{key} must be one of \\['DensePose.*got 'DensePoseV2Head'"):
        builder(cfg, 32)


def test_deeplab_head_parameter_names_are_the_reference_ones():
    cfg = _small_cfg("DensePoseDeepLabHead")
    cfg.MODEL.ROI_DENSEPOSE_HEAD.DEEPLAB.NONLOCAL_ON = 1
    names = set(build_densepose_head(cfg, 64).state_dict())
    aspp = {f"ASPP.convs.{b}.{layer}.weight" for b in range(4) for layer in (0, 1)} | {
        "ASPP.convs.4.1.weight", "ASPP.convs.4.2.weight", "ASPP.project.0.weight"}
    aspp |= {n.replace(".weight", ".bias") for n in aspp if not n.endswith((".0.weight", "4.1.weight"))}
    nonlocal_block = {f"NLBlock.{m}.{p}" for m in ("theta", "phi.0", "g.0", "W.0", "W.1") for p in ("weight", "bias")}
    body = {f"body_conv_fcn{k}.{p}" for k in (1, 2) for p in ("weight", "norm.weight", "norm.bias")}
    assert names == aspp | nonlocal_block | body


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"DEEPLAB.NORM": "BN"}, "DEEPLAB.NORM must be one of \\('GN', ''\\), got 'BN'"),
        ({"CONV_HEAD_DIM": 48}, "CONV_HEAD_DIM with DEEPLAB.NORM 'GN' to be a multiple of 32 .*got 48"),
        ({"input_channels": 16}, "pooled feature channels .* multiple of 32 .*got 16"),
    ],
)
def test_deeplab_head_refuses_settings_groupnorm_cannot_take(setting, message):
    cfg = _small_cfg("DensePoseDeepLabHead")
    input_channels = setting.pop("input_channels", 32)
    for key, value in setting.items():
        node, _, leaf = ("MODEL.ROI_DENSEPOSE_HEAD." + key).rpartition(".")
        cfg.merge_from_list([f"{node}.{leaf}", value])
    with pytest.raises(ValueError, match=message):
        build_densepose_head(cfg, input_channels)


def test_deeplab_head_without_norm_has_biases_and_any_width():
    cfg = _small_cfg("DensePoseDeepLabHead")
    cfg.MODEL.ROI_DENSEPOSE_HEAD.DEEPLAB.NORM = ""
    cfg.MODEL.ROI_DENSEPOSE_HEAD.CONV_HEAD_DIM = 20
    head = build_densepose_head(cfg, 32)
    assert head.body_conv_fcn1.bias is not None and head.body_conv_fcn1.norm is None
    assert head(torch.randn(2, 32, 5, 5)).shape == (2, 20, 5, 5)


def _randomise(module: nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)


def test_aspp_pooling_branch_is_constant_and_output_keeps_size():
    aspp = ASPP(32, 32, (1, 2, 3))
    _randomise(aspp)
    x = torch.randn(2, 32, 6, 5)
    pooled = aspp.convs[4](x)
    assert pooled.shape == (2, 32, 6, 5) and torch.equal(pooled, pooled[:, :, :1, :1].expand_as(pooled))
    assert aspp(x).shape == (2, 32, 6, 5) and (aspp(x) >= 0).all()


def test_aspp_branches_see_only_their_dilation():
    """The convolution of a 3x3 branch of dilation d reads cells at offsets 0 and +-d: an impulse d cells from
    the centre changes the centre's output, one d + 1 cells away does not."""
    aspp = ASPP(32, 32, (2, 3, 4))
    x = torch.zeros(1, 32, 11, 11)
    for branch, d in zip(aspp.convs[1:4], (2, 3, 4)):
        conv = branch[0]
        base = conv(x)[0, :, 5, 5]
        near, far = x.clone(), x.clone()
        near[0, :, 5, 5 + d] = 1.0
        far[0, :, 5, 5 + d + 1] = 1.0
        assert not torch.allclose(conv(near)[0, :, 5, 5], base)
        assert torch.allclose(conv(far)[0, :, 5, 5], base)


def _nonlocal_slow(block: NonLocalBlock2D, x: torch.Tensor) -> torch.Tensor:
    """Loop over output cells: y_i = sum_j softmax_j(theta_i . phi_j) g_j, then z = W(y) + x."""
    theta, phi, g = block.theta(x), block.phi(x), block.g(x)
    n, d, h, w = theta.shape
    y = torch.zeros(n, d, h, w)
    for b in range(n):
        keys, values = phi[b].reshape(d, -1), g[b].reshape(d, -1)
        for r in range(h):
            for c in range(w):
                weights = torch.softmax(theta[b, :, r, c] @ keys, dim=0)
                y[b, :, r, c] = (values * weights).sum(dim=1)
    return block.W(y) + x


def test_nonlocal_block_matches_the_attention_loop_and_starts_as_identity():
    block = NonLocalBlock2D(32)
    x = torch.randn(2, 32, 7, 6)
    assert torch.equal(block(x), x)  # zero-initialised GroupNorm affine: a new block changes nothing
    _randomise(block, seed=1)
    out = block(x)
    assert not torch.allclose(out, x)
    torch.testing.assert_close(out, _nonlocal_slow(block, x), rtol=1e-5, atol=1e-5)
    assert block.inter_channels == 16 and block.phi(x).shape[-2:] == (3, 3)
