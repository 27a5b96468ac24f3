"""RCP and AUC10/AUC30 on error distributions whose curves are known in closed form."""
import numpy as np
import pytest

from densepose_ext.evaluation.pointwise import RCP_THRESHOLDS_M, auc, pointwise_report, rcp


def uniform_errors(high, m=2000):
    """Midpoints of m equal bins of [0, high]: RCP(t) = t / high on the bin edges, integrals exact."""
    return high * (np.arange(m) + 0.5) / m


def test_uniform_errors_analytic_auc():
    e = uniform_errors(0.2)
    # RCP(t) = t / 0.2 up to 20 cm: AUC10 = (1/.1) ∫_0^.1 t/.2 dt = 0.25; AUC30 = (1/.3)(.1 + .1) = 2/3.
    assert auc(e, 0.10) == pytest.approx(0.25, abs=1e-12)
    assert auc(e, 0.30) == pytest.approx(2 / 3, abs=1e-12)
    np.testing.assert_allclose(rcp(e, np.array([0.0, 0.05, 0.1, 0.2, 0.3])), [0.0, 0.25, 0.5, 1.0, 1.0])


def test_missing_predictions_never_count():
    # Half the points have no prediction (inf): every value halves.
    e = np.concatenate([uniform_errors(0.2), np.full(2000, np.inf)])
    assert auc(e, 0.10) == pytest.approx(0.125, abs=1e-12)
    assert auc(e, 0.30) == pytest.approx(1 / 3, abs=1e-12)
    assert rcp(e, np.array([1e9]))[0] == 0.5


def test_auc_equals_integral_of_rcp_curve():
    rng = np.random.default_rng(1)
    e = np.concatenate([rng.exponential(0.08, 500), [np.inf] * 50])
    t = np.linspace(0, 0.3, 300001)
    curve = rcp(e, t)
    integral = np.sum((curve[1:] + curve[:-1]) / 2 * np.diff(t)) / 0.3
    assert auc(e, 0.3) == pytest.approx(integral, abs=1e-5)


def test_rcp_is_strict_and_exact_errors_are_correct_above_zero():
    e = np.array([0.0, 0.1])
    np.testing.assert_allclose(rcp(e, np.array([0.0, 1e-9, 0.1, 0.1 + 1e-9])), [0.0, 0.5, 0.5, 1.0])
    assert auc(np.zeros(3), 0.1) == 1.0


def test_report_per_part_breakdown():
    # Part 3 perfect, part 23 always 20 cm off, part 5 never predicted.
    errors = np.array([0.0, 0.0, 0.2, 0.2, np.inf])
    parts = np.array([3, 3, 23, 23, 5])
    rep = pointwise_report(errors, parts)
    assert rep["num_points"] == 5
    assert rep["AUC10"] == pytest.approx(0.4) and rep["AUC30"] == pytest.approx((2 + 2 / 3) / 5)
    assert rep["per_part"] == {
        "right_hand": {"num_points": 2, "AUC10": 1.0, "AUC30": 1.0},
        "left_foot": {"num_points": 1, "AUC10": 0.0, "AUC30": 0.0},
        "head_right": {"num_points": 2, "AUC10": 0.0, "AUC30": pytest.approx(1 / 3)},
    }
    assert rep["rcp"]["thresholds_m"] == RCP_THRESHOLDS_M.tolist()
    assert rep["rcp"]["ratio"][0] == 0.0 and rep["rcp"]["ratio"][-1] == pytest.approx(0.8)


def test_report_without_points():
    rep = pointwise_report(np.zeros(0), np.zeros(0, int))
    assert rep["num_points"] == 0 and rep["AUC10"] is None and rep["per_part"] == {}
