import numpy as np
import pytest

from densepose_ext.synth.sampling import (
    MAX_POINTS_PER_PART, kmeans_pixels, kmeans_pixels_reference, points_for_part,
)


def _region(rng, h=40, w=50):
    """Pixel coords (N,2) of a random blob union (non-convex)."""
    yy, xx = np.mgrid[0:h, 0:w]
    mask = np.zeros((h, w), bool)
    for _ in range(3):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(4, 14)
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
    ys, xs = np.nonzero(mask)
    return np.stack([xs, ys], 1).astype(np.float64)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [1, 5, 14])
def test_fast_equals_reference(seed, k):
    coords = _region(np.random.default_rng(seed))
    np.testing.assert_array_equal(kmeans_pixels(coords, k), kmeans_pixels_reference(coords, k))


def test_points_are_distinct_region_pixels_and_spread():
    coords = np.stack(np.meshgrid(np.arange(30.0), np.arange(30.0)), -1).reshape(-1, 2)
    idx = kmeans_pixels(coords, 9)
    assert len(idx) == 9 == len(np.unique(idx))
    pts = coords[idx]
    # 9 k-means centres of a 30x30 square sit near a 3x3 grid: nearest-neighbour spacing ~10 px
    d = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1)) + np.eye(9) * 1e9
    assert 7 <= d.min(1).min() and d.min(1).max() <= 13


def test_small_and_empty_regions():
    assert len(kmeans_pixels(np.zeros((0, 2)), 5)) == 0
    assert list(kmeans_pixels(np.array([[3.0, 4.0]]), 5)) == [0]
    two = np.array([[0.0, 0.0], [10.0, 0.0]])
    assert sorted(kmeans_pixels(two, 14)) == [0, 1]
    with pytest.raises(ValueError, match="coords"):
        kmeans_pixels(np.zeros((4, 3)), 2)


def test_points_for_part_budget():
    assert points_for_part(0, 1000) == 0
    assert points_for_part(5, 100000) == 1          # any visible part gets a point
    assert points_for_part(3, 3) == 3                # never more points than pixels
    assert points_for_part(10 ** 6, 10 ** 6) == MAX_POINTS_PER_PART
