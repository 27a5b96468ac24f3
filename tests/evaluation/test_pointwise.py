"""RCP and AUC10/AUC30 on error distributions whose curves are known in closed form."""

import numpy as np
import pytest

from densepose_ext.evaluation.pointwise import RCP_THRESHOLDS_M, PointwiseAccumulator


def report(errors, parts=None):
    acc = PointwiseAccumulator()
    acc.add(errors, np.ones(len(errors), int) if parts is None else parts)
    return acc.report()


def rcp_at(rep, t):
    return rep["rcp"]["ratio"][RCP_THRESHOLDS_M.tolist().index(t)]


def uniform_errors(high, m=2000):
    """Midpoints of m equal bins of [0, high]: RCP(t) = t / high on the bin edges, integrals exact."""
    return high * (np.arange(m) + 0.5) / m


def test_uniform_errors_analytic_auc_and_curve():
    rep = report(uniform_errors(0.2))
    # RCP(t) = t / 0.2 up to 20 cm: AUC10 = (1/.1) ∫_0^.1 t/.2 dt = 0.25; AUC30 = (1/.3)(.1 + .1) = 2/3.
    assert rep["AUC10"] == pytest.approx(0.25, abs=1e-12)
    assert rep["AUC30"] == pytest.approx(2 / 3, abs=1e-12)
    for t, expected in [(0.0, 0.0), (0.05, 0.25), (0.1, 0.5), (0.2, 1.0), (0.3, 1.0)]:
        assert rcp_at(rep, t) == pytest.approx(expected), t


def test_missing_predictions_never_count():
    # Half the points have no prediction (inf): every value halves.
    rep = report(np.concatenate([uniform_errors(0.2), np.full(2000, np.inf)]))
    assert rep["AUC10"] == pytest.approx(0.125, abs=1e-12)
    assert rep["AUC30"] == pytest.approx(1 / 3, abs=1e-12)
    assert rcp_at(rep, 0.3) == 0.5


def test_auc_equals_integral_of_the_rcp_curve():
    rng = np.random.default_rng(1)
    e = np.concatenate([rng.exponential(0.08, 500), [np.inf] * 50])
    t = np.linspace(0, 0.3, 300001)
    curve = np.searchsorted(np.sort(e), t, side="left") / e.size  # RCP(t) by its definition
    integral = np.sum((curve[1:] + curve[:-1]) / 2 * np.diff(t)) / 0.3
    rep = report(e)
    assert rep["AUC30"] == pytest.approx(integral, abs=1e-5)
    np.testing.assert_allclose(rep["rcp"]["ratio"], np.searchsorted(np.sort(e), RCP_THRESHOLDS_M, side="left") / e.size)


def test_rcp_is_strict():
    rep = report(np.array([0.0, 0.1, 0.1 - 1e-12]))
    assert (
        rcp_at(rep, 0.0) == 0.0
        and rcp_at(rep, 0.005) == pytest.approx(1 / 3)
        and rcp_at(rep, 0.1) == pytest.approx(2 / 3)
    )
    assert report(np.zeros(3))["AUC10"] == 1.0


def test_accumulating_in_chunks_equals_one_batch():
    rng = np.random.default_rng(2)
    e, parts = rng.exponential(0.1, 3000), rng.integers(1, 25, 3000)
    acc = PointwiseAccumulator()
    for chunk in np.array_split(np.arange(3000), 7):
        acc.add(e[chunk], parts[chunk])
    chunked, batch = acc.report(), report(e, parts)
    assert chunked["rcp"] == batch["rcp"]  # integer counts: exactly equal
    assert chunked["AUC10"] == pytest.approx(batch["AUC10"], rel=1e-12)
    for part, values in batch["per_part"].items():
        assert chunked["per_part"][part] == pytest.approx(values, rel=1e-12)


def test_per_part_breakdown():
    # Part 3 perfect, part 23 always 20 cm off, part 5 never predicted.
    rep = report(np.array([0.0, 0.0, 0.2, 0.2, np.inf]), np.array([3, 3, 23, 23, 5]))
    assert rep["num_points"] == 5
    assert rep["AUC10"] == pytest.approx(0.4) and rep["AUC30"] == pytest.approx((2 + 2 / 3) / 5)
    assert rep["per_part"] == {
        "right_hand": {"num_points": 2, "AUC10": 1.0, "AUC30": 1.0},
        "left_foot": {"num_points": 1, "AUC10": 0.0, "AUC30": 0.0},
        "head_right": {"num_points": 2, "AUC10": 0.0, "AUC30": pytest.approx(1 / 3)},
    }
    assert rcp_at(rep, 0.0) == 0.0 and rcp_at(rep, 0.3) == pytest.approx(0.8)


def test_report_without_points():
    rep = PointwiseAccumulator().report()
    assert rep["num_points"] == 0 and rep["AUC10"] is None and rep["per_part"] == {} and rep["rcp"]["ratio"][0] is None
