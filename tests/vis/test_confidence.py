"""dp_uv_std: the UV standard deviation of a UV-confidence model, per person pixel."""
import math

import numpy as np
import pytest

from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.vis.confidence import EPSILON, composite_uv_std, uv_std
from densepose_ext.vis.iuv_image import composite_iuv
from densepose_ext.vis.visualizers import build_visualizer

from .helpers import random_detections


def _raw(variance):
    """The raw sigma_2 whose softplus + EPSILON is `variance`."""
    return np.log(np.expm1(np.asarray(variance, np.float64) - EPSILON))


def test_uv_std_known_values():
    iso = uv_std({"sigma_2": _raw([[0.25]])})
    assert iso[0, 0] == pytest.approx(0.5, rel=1e-5)
    # s = 0.25, r = (0.3, 0.4): trace = 2 s + |r|^2 -> sqrt(0.25 + 0.125)
    aniso = uv_std({"sigma_2": _raw([[0.25]]), "kappa_u": np.array([[0.3]]), "kappa_v": np.array([[0.4]])})
    assert aniso[0, 0] == pytest.approx(math.sqrt(0.375), rel=1e-5)
    assert uv_std({"sigma_2": np.array([[-50.0, 800.0]])}).tolist()[0] == pytest.approx([EPSILON**0.5, 800**0.5], rel=1e-5)


def _with_confidences(det: ImageDetections, rng) -> ImageDetections:
    maps = tuple({"sigma_2": rng.normal(size=lab.shape).astype(np.float32)} for lab in det.labels)
    return ImageDetections(det.image_size, det.boxes, det.scores, det.labels, det.uv, maps)


def test_composite_takes_each_pixel_from_the_person_the_iuv_composite_chose():
    rng = np.random.default_rng(4)
    det = _with_confidences(random_detections(rng, n=5), rng)
    iuv = composite_iuv(det)
    std = composite_uv_std(det, iuv)
    assert (std[iuv.inds == 0] == 0).all() and (std[iuv.inds > 0] >= EPSILON**0.5).all()
    # one pixel per person, checked against that person's own map at the cell the pixel falls in
    for k in range(len(det)):
        ys, xs = np.nonzero(iuv.inds == k + 1)
        if len(ys) == 0:
            continue
        y, x = ys[0], xs[0]
        x0, y0, x1, y1 = det.boxes[k]
        h, w = det.labels[k].shape
        cell = (min(int((y + 0.5 - y0) * h / (y1 - y0)), h - 1), min(int((x + 0.5 - x0) * w / (x1 - x0)), w - 1))
        assert std[y, x] == pytest.approx(uv_std(det.confidences[k])[cell])


def test_visualizer_colours_people_only_and_refuses_models_without_confidences():
    rng = np.random.default_rng(5)
    plain = random_detections(rng, n=3)
    det = _with_confidences(plain, rng)
    image = np.full((*det.image_size, 3), 90, np.uint8)
    vis = build_visualizer("dp_uv_std")
    iuv = composite_iuv(det)
    drawn = vis.draw(image, det, iuv)
    changed = (drawn != image).any(axis=2)
    assert changed.any() and not changed[iuv.labels == 0].any()
    assert vis.legends()[0].shape[2] == 3
    with pytest.raises(ValueError, match="no UV confidences .*UV_CONFIDENCE.ENABLED"):
        vis.draw(image, plain, composite_iuv(plain))
