"""Point -> result cell lookup: known answers, points outside the box, and equality with a per-point loop."""

import math

import numpy as np

from densepose_ext.data.annotation import box256_to_image
from densepose_ext.evaluation.sampling import sample_results


def sample_reference(x, y, boxes, labels, uv):
    """Per (detection, point) loop over the box-frame convention of structures/results.py."""
    num_det, num_pts = len(labels), len(x)
    out_i, out_u, out_v = np.zeros((num_det, num_pts), int), np.zeros((num_det, num_pts)), np.zeros((num_det, num_pts))
    for d in range(num_det):
        x0, y0, x1, y1 = boxes[d]
        h, w = labels[d].shape
        for p in range(num_pts):
            if not (x0 <= x[p] < x1 and y0 <= y[p] < y1):
                continue
            c = math.floor((x[p] - x0) / (x1 - x0) * w)
            r = math.floor((y[p] - y0) / (y1 - y0) * h)
            if 0 <= r < h and 0 <= c < w and labels[d][r, c] > 0:
                out_i[d, p], out_u[d, p], out_v[d, p] = labels[d][r, c], uv[d][0, r, c], uv[d][1, r, c]
    return out_i, out_u, out_v


def test_box256_to_image_known_values():
    x, y = box256_to_image([0, 128, 255.5], [64, 0, 256], [10, 20, 50, 100])
    np.testing.assert_allclose(x, [10, 35, 10 + 255.5 * 50 / 256])
    np.testing.assert_allclose(y, [45, 20, 120])


def test_known_cells_and_outside_points_score_background():
    labels = np.array([[1, 2], [3, 4]], np.uint8)  # box (10, 10)-(14, 12): cells 2 px wide, 1 px high
    uv = np.stack([labels / 10.0, labels / 100.0])
    x = np.array([10.0, 11.99, 12.0, 13.9, 9.99, 14.0, 12.5])
    y = np.array([10.0, 10.5, 11.0, 11.99, 10.5, 10.5, 12.0])
    i, u, v = sample_results(x, y, np.array([[10, 10, 14, 12]]), [labels], [uv])
    np.testing.assert_array_equal(i, [[1, 1, 4, 4, 0, 0, 0]])
    np.testing.assert_allclose(u, [[0.1, 0.1, 0.4, 0.4, 0, 0, 0]])
    np.testing.assert_allclose(v, [[0.01, 0.01, 0.04, 0.04, 0, 0, 0]])


def test_vectorised_sampling_equals_reference_loop():
    rng = np.random.default_rng(3)
    boxes, labels, uv = [], [], []
    for _ in range(6):
        x0, y0 = rng.uniform(0, 100, 2)
        w, h = rng.uniform(0.5, 80, 2)  # fractional, including boxes thinner than one pixel
        size = (max(1, math.ceil(h)), max(1, math.ceil(w)))
        boxes.append([x0, y0, x0 + w, y0 + h])
        labels.append(rng.integers(0, 25, size).astype(np.uint8))
        uv.append(rng.random((2,) + size).astype(np.float32))
    x, y = rng.uniform(-10, 200, 500), rng.uniform(-10, 200, 500)
    fast = sample_results(x, y, np.array(boxes), labels, uv)
    ref = sample_reference(x, y, boxes, labels, uv)
    for a, b in zip(fast, ref):
        np.testing.assert_array_equal(a, b)
    assert (fast[0] > 0).sum() > 50  # the comparison covers many hits


def test_assigned_detection_equals_picking_from_all_pairs():
    rng = np.random.default_rng(4)
    boxes = np.array([[0, 0, 10, 10], [5, 5, 25, 15], [20, 0, 30, 30]], dtype=float)
    labels = [
        rng.integers(0, 25, (10, 10)).astype(np.uint8),
        rng.integers(0, 25, (10, 20)).astype(np.uint8),
        rng.integers(0, 25, (30, 10)).astype(np.uint8),
    ]
    uv = [rng.random((2,) + lab.shape) for lab in labels]
    x, y = rng.uniform(-2, 32, 400), rng.uniform(-2, 32, 400)
    det = rng.integers(-1, 3, 400)
    full = sample_results(x, y, boxes, labels, uv)
    assigned = sample_results(x, y, boxes, labels, uv, det=det)
    cols = np.arange(400)
    for a, f in zip(assigned, full):
        np.testing.assert_array_equal(a, np.where(det >= 0, f[np.maximum(det, 0), cols], 0))
    assert (assigned[0] > 0).sum() > 50


def test_no_detections_or_no_points():
    i, u, v = sample_results(np.zeros(4), np.zeros(4), np.zeros((0, 4)), [], [])
    assert i.shape == u.shape == v.shape == (0, 4)
    i, _, _ = sample_results(np.zeros(4), np.zeros(4), np.zeros((0, 4)), [], [], det=np.full(4, -1))
    assert i.shape == (4,) and not i.any()
    i, _, _ = sample_results(
        np.zeros(0), np.zeros(0), np.array([[0, 0, 2, 2]]), [np.ones((2, 2), np.uint8)], [np.zeros((2, 2, 2))]
    )
    assert i.shape == (1, 0)
