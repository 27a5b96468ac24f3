"""modeling/test_time_augmentation.py: mirrored views mapped back through the body surface, averaged, end to end.

The symmetric case: when the mirrored view predicts exactly the mirror of the plain view (as a perfect model does
on any image), flip-TTA must return the plain prediction. `_slow_mirror` builds that mirror independently, pixel
by pixel with the surface's scalar map, so the fast `mirror_chart_outputs` is also checked against it.
"""
import numpy as np
import pytest
import torch
from detectron2.modeling import build_model
from detectron2.structures import Instances

from densepose_ext.modeling.inference import DensePoseChartPredictions
from densepose_ext.modeling.predictor import DensePoseChartOutput
from densepose_ext.modeling.test_time_augmentation import (DensePoseRCNNWithTTA, average_chart_outputs,
                                                           build_densepose_tta, mirror_chart_outputs)
from densepose_ext.surface import get_surface
from densepose_ext.surface.parts import COARSE_PART_MIRROR, FINE_PART_MIRROR, NUM_FINE_PARTS
from tests.modeling.tiny import tiny_cfg


@pytest.fixture(scope="module")
def surface():
    return get_surface()


def _on_chart_uv(surface, part, rng, shape):
    """U, V of random points of `part` (inside its chart, where the mirror map is an exact involution)."""
    faces = np.flatnonzero(surface.face_part == part)
    bary = rng.dirichlet(np.ones(3), size=int(np.prod(shape)))
    _, u, v = surface.surface_to_iuv(rng.choice(faces, size=len(bary)), bary)
    return u.reshape(shape), v.reshape(shape)


def _random_outputs(surface, rng, n=2, size=6, coarse_channels=15):
    u = np.zeros((n, NUM_FINE_PARTS + 1, size, size))
    v = np.zeros_like(u)
    for part in range(1, NUM_FINE_PARTS + 1):
        u[:, part], v[:, part] = _on_chart_uv(surface, part, rng, (n, size, size))

    def t(a):
        return torch.as_tensor(a, dtype=torch.float32)

    return DensePoseChartOutput(coarse_segm=t(rng.normal(size=(n, coarse_channels, size, size))),
                                fine_segm=t(rng.normal(size=(n, NUM_FINE_PARTS + 1, size, size))), u=t(u), v=t(v))


def _slow_mirror(outputs, surface):
    """The mirrored view's outputs, one channel and one pixel at a time: cell (r, c) of channel q of the mirror is
    cell (r, S-1-c) of channel mirror(q), with U/V of that part mirrored by the scalar surface map."""
    n, channels, size, _ = outputs.fine_segm.shape
    coarse_mirror = COARSE_PART_MIRROR if outputs.coarse_segm.shape[1] == 15 else np.arange(2)
    out = {name: torch.zeros_like(getattr(outputs, name)) for name in ("coarse_segm", "fine_segm", "u", "v")}
    for k in range(n):
        for r in range(size):
            for c in range(size):
                for q in range(outputs.coarse_segm.shape[1]):
                    out["coarse_segm"][k, q, r, c] = outputs.coarse_segm[k, coarse_mirror[q], r, size - 1 - c]
                for q in range(channels):
                    p = FINE_PART_MIRROR[q]
                    out["fine_segm"][k, q, r, c] = outputs.fine_segm[k, p, r, size - 1 - c]
                    u, v = float(outputs.u[k, p, r, size - 1 - c]), float(outputs.v[k, p, r, size - 1 - c])
                    if q > 0:
                        (_,), (u,), (v,) = surface.mirror_iuv(np.array([p]), np.array([u]), np.array([v]))
                    out["u"][k, q, r, c], out["v"][k, q, r, c] = u, v
    return DensePoseChartOutput(**out)


def test_mirror_equals_the_slow_reference_and_is_an_involution(surface):
    outputs = _random_outputs(surface, np.random.default_rng(0))
    mirrored = mirror_chart_outputs(outputs, surface)
    expected = _slow_mirror(outputs, surface)
    for name in ("coarse_segm", "fine_segm"):
        assert torch.equal(getattr(mirrored, name), getattr(expected, name))
    torch.testing.assert_close(mirrored.u, expected.u, atol=1e-6, rtol=0)
    torch.testing.assert_close(mirrored.v, expected.v, atol=1e-6, rtol=0)
    # the torso (1, 2) mirrors onto itself with other U/V: a swap-only implementation would fail here
    assert (mirrored.u[:, 1] - outputs.u[:, 1].flip(dims=[2])).abs().max() > 0.05
    twice = mirror_chart_outputs(mirrored, surface)
    torch.testing.assert_close(twice.u, outputs.u, atol=1e-5, rtol=0)
    torch.testing.assert_close(twice.fine_segm, outputs.fine_segm, atol=0, rtol=0)


@pytest.mark.parametrize("coarse_channels", [2, 15])
def test_symmetric_case_flip_tta_equals_the_plain_prediction(surface, coarse_channels):
    plain = _random_outputs(surface, np.random.default_rng(1), coarse_channels=coarse_channels)
    flipped_view = _slow_mirror(plain, surface)  # what the mirrored image gives in the symmetric case
    tta = average_chart_outputs([plain, mirror_chart_outputs(flipped_view, surface)])
    for name in ("coarse_segm", "fine_segm"):
        torch.testing.assert_close(getattr(tta, name).softmax(dim=1), getattr(plain, name).softmax(dim=1))
    torch.testing.assert_close(tta.u, plain.u, atol=1e-5, rtol=0)
    torch.testing.assert_close(tta.v, plain.v, atol=1e-5, rtol=0)
    boxes = torch.tensor([[0.0, 0.0, 30.0, 50.0], [5.0, 5.0, 25.0, 17.0]])
    for a, b in zip(DensePoseChartPredictions(tta).to_results(boxes), DensePoseChartPredictions(plain).to_results(boxes)):
        assert torch.equal(a.labels, b.labels)
        torch.testing.assert_close(a.uv, b.uv, atol=1e-5, rtol=0)


def test_average_is_the_mean_probability_and_mean_uv():
    a = DensePoseChartOutput(coarse_segm=torch.tensor([[[[0.0]], [[0.0]]]]),
                             fine_segm=torch.zeros(1, 25, 1, 1), u=torch.full((1, 25, 1, 1), 0.2),
                             v=torch.full((1, 25, 1, 1), 0.4))
    b = DensePoseChartOutput(coarse_segm=torch.tensor([[[[float(np.log(3.0))]], [[0.0]]]]),
                             fine_segm=torch.zeros(1, 25, 1, 1), u=torch.full((1, 25, 1, 1), 0.6),
                             v=torch.full((1, 25, 1, 1), 0.0))
    mean = average_chart_outputs([a, b])
    # P(background) = 1/2 in view a, 3/4 in view b: 5/8 on average
    assert mean.coarse_segm.softmax(dim=1)[0, 0, 0, 0].item() == pytest.approx(5 / 8)
    assert mean.u[0, 3, 0, 0].item() == pytest.approx(0.4) and mean.v[0, 3, 0, 0].item() == pytest.approx(0.2)
    with pytest.raises(ValueError, match="no views"):
        average_chart_outputs([])


def _constant_symmetric_model(surface):
    """Tiny CPU-recipe model whose DensePose maps are constant and mirror-symmetric (deconvolutions zero, biases
    chosen so): every view of every box predicts the mirror of its mirrored view, the symmetric case."""
    cfg = tiny_cfg()
    cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = 0.0
    cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST = 96, 160
    cfg.TEST.AUG.ENABLED, cfg.TEST.AUG.MIN_SIZES, cfg.TEST.AUG.MAX_SIZE, cfg.TEST.AUG.FLIP = True, (80, 112), 160, True
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    predictor = model.roi_heads.densepose_predictor
    rng = np.random.default_rng(2)
    u = np.zeros(NUM_FINE_PARTS + 1)
    v = np.zeros_like(u)
    for part in range(1, NUM_FINE_PARTS + 1):
        if part < FINE_PART_MIRROR[part]:  # one of each pair; its partner holds the mirrored point
            (u[part],), (v[part],) = _on_chart_uv(surface, part, rng, (1,))
            _, (u[FINE_PART_MIRROR[part]],), (v[FINE_PART_MIRROR[part]],) = surface.mirror_iuv(
                np.array([part]), u[part:part + 1], v[part:part + 1])
    fine = np.zeros(NUM_FINE_PARTS + 1)
    fine[[5, 6]] = 4.0  # the feet pair wins everywhere (a tie, as symmetry demands)
    coarse = np.r_[0.0, np.full(14, 3.0)]
    with torch.no_grad():
        for name, bias in (("ann_index_lowres", coarse), ("index_uv_lowres", fine), ("u_lowres", u), ("v_lowres", v)):
            getattr(predictor, name).weight.zero_()
            getattr(predictor, name).bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return cfg, model


def test_flip_tta_end_to_end_equals_the_plain_model_on_the_same_boxes(surface):
    cfg, model = _constant_symmetric_model(surface)
    rng = np.random.default_rng(3)
    image = torch.as_tensor(rng.integers(0, 255, (3, 90, 120)), dtype=torch.float32)
    tta = DensePoseRCNNWithTTA(cfg, model, surface)
    with torch.no_grad():  # as detectron2's inference_on_dataset and BatchPredictor call it
        (out,) = tta([{"image": image, "height": 90, "width": 120}])
    instances = out["instances"]
    assert len(instances) > 0 and instances.image_size == (90, 120)
    boxes = instances.pred_boxes.tensor
    with torch.no_grad():
        (plain,) = model.inference([{"image": image, "height": 90, "width": 120}], detected_instances=[Instances(
            (90, 120), pred_boxes=instances.pred_boxes, pred_classes=instances.pred_classes, scores=instances.scores)])
    plain = plain["instances"]
    for a, b in zip(instances.pred_densepose.to_results(boxes), plain.pred_densepose.to_results(boxes)):
        assert torch.equal(a.labels, b.labels) and (a.labels == 5).float().mean() > 0.5
        torch.testing.assert_close(a.uv, b.uv, atol=1e-5, rtol=0)


def test_flip_needs_a_surface_and_rotation_stays_refused():
    cfg = tiny_cfg()
    cfg.TEST.AUG.ENABLED, cfg.TEST.AUG.FLIP = True, True
    cfg.DATASETS.TEST = ()
    model = build_model(cfg).eval()
    with pytest.raises(ValueError, match="TEST.AUG.FLIP needs the body surface"):
        build_densepose_tta(cfg, model)
    cfg.DATASETS.TEST = ("densepose_synth_val",)
    assert build_densepose_tta(cfg, model).surface is get_surface()
    cfg.TEST.AUG.ROTATION_ANGLES = (0, 90)
    with pytest.raises(ValueError, match="TEST.AUG.ROTATION_ANGLES"):
        build_model(cfg)

