"""GPS core: known answers, the κ definitions, and the vectorised GPS against a per-point reference loop."""

import math

import numpy as np
import pytest

from densepose_ext.evaluation.gps import gps_from_distances, gpsm, point_similarity
from densepose_ext.evaluation.kappa import GLOBAL_KAPPA, describe_kappa, point_kappa

from .synthetic import REFERENCE_KAPPA_BY_REGION, chart_distance, pair_distances, reference_kappa


def gps_reference(dist, gt_parts, owner, num_gt, kappa_mode):
    """Slow per-point loop straight from the definition GPS_j = 1/|P_j| sum_p exp(-g_p^2 / 2 κ_p^2)."""
    out = np.zeros((dist.shape[0], num_gt))
    for d in range(dist.shape[0]):
        for j in range(num_gt):
            points = [p for p in range(len(owner)) if owner[p] == j]
            total = 0.0
            for p in points:
                kappa = reference_kappa(int(gt_parts[p]), kappa_mode)
                g = dist[d, p]
                total += 0.0 if math.isinf(g) else math.exp(-g * g / (2 * kappa * kappa))
            out[d, j] = total / len(points) if points else 0.0
    return out


def test_point_similarity_known_values():
    # The paper's calibration: κ = 0.255 makes a point at g = κ sqrt(2 ln 2) ≈ 30 cm score exactly 0.5.
    half = GLOBAL_KAPPA * math.sqrt(2 * math.log(2))
    assert 0.29 < half < 0.31
    np.testing.assert_allclose(point_similarity(np.array([0.0, half, np.inf]), GLOBAL_KAPPA), [1.0, 0.5, 0.0])


@pytest.mark.parametrize("mode", ["global", "per-part"])
def test_displaced_point_scores_exp(mode):
    # One person, 3 points of different parts, each predicted d away: GPS = mean of exp(-d^2 / 2 κ_p^2).
    d = 0.12
    parts = np.array([3, 1, 23])
    dist = np.full((1, 3), d)
    kappas = {"global": [0.255] * 3, "per-part": [0.107, 0.351, 0.150]}[mode]
    expected = np.mean([math.exp(-d * d / (2 * k * k)) for k in kappas])
    np.testing.assert_allclose(gps_from_distances(dist, parts, np.zeros(3, int), 1, mode), [[expected]])


def test_per_part_kappa_table():
    """All 24 parts: κ of the part's body region as the reference evaluator groups them (hands 0.107, feet 0.126,
    torso 0.351, head 0.150, upper/lower legs 0.237/0.173, upper/lower arms 0.142/0.128)."""
    parts = np.arange(1, 25)
    np.testing.assert_allclose(point_kappa(parts, "per-part"), [reference_kappa(int(p), "per-part") for p in parts])
    assert point_kappa(parts, "global").tolist() == [0.255] * 24
    assert sorted(set(point_kappa(parts, "per-part"))) == sorted(REFERENCE_KAPPA_BY_REGION.values())
    assert describe_kappa("global") == {"mode": "global", "value": 0.255}
    assert describe_kappa("per-part")["mode"] == "per-part"


def test_bad_kappa_inputs_name_the_problem():
    with pytest.raises(ValueError, match="kappa mode.*'paper'"):
        point_kappa(np.array([1]), "paper")
    with pytest.raises(ValueError, match="gt_parts.*1..24.*0"):
        point_kappa(np.array([0, 3]), "global")


@pytest.mark.parametrize("mode", ["global", "per-part"])
def test_vectorised_gps_equals_reference_loop(mode):
    rng = np.random.default_rng(0)
    num_det, num_gt, num_pts = 5, 4, 60
    owner = rng.integers(0, num_gt - 1, num_pts)  # the last person has no points: GPS 0
    parts = rng.integers(1, 25, num_pts)
    dist = rng.uniform(0, 0.6, (num_det, num_pts))
    dist[rng.random(dist.shape) < 0.2] = np.inf
    fast = gps_from_distances(dist, parts, owner, num_gt, mode)
    np.testing.assert_allclose(fast, gps_reference(dist, parts, owner, num_gt, mode), rtol=1e-12)
    assert np.all(fast[:, -1] == 0)


def test_gps_empty_inputs():
    assert gps_from_distances(np.zeros((0, 0)), np.zeros(0, int), np.zeros(0, int), 0, "global").shape == (0, 0)
    assert gps_from_distances(np.zeros((0, 5)), np.ones(5, int), np.zeros(5, int), 1, "global").shape == (0, 1)


def test_pair_distances_queries_only_predicted_points():
    calls = []

    def recording_distance(*args):
        calls.append(args)
        return chart_distance(*args)

    gt = (np.array([1, 2, 3]), np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.5, 0.5]))
    pred_i = np.array([[1, 0, 3], [0, 0, 2]])
    pred_u = np.array([[0.4, 0.0, 0.3], [0.0, 0.0, 0.3]])
    pred_v = np.full((2, 3), 0.5)
    dist = pair_distances(gt, (pred_i, pred_u, pred_v), recording_distance)
    np.testing.assert_allclose(dist, [[0.3, np.inf, 0.0], [np.inf, np.inf, 2.0]])
    assert len(calls) == 1 and len(calls[0][0]) == 3  # one vectorised call with the 3 predicted pairs


def test_gpsm_is_geometric_mean():
    np.testing.assert_allclose(gpsm(np.array([[0.81, 1.0, 0.5]]), np.array([[1.0, 0.25, 0.0]])), [[0.9, 0.5, 0.0]])
