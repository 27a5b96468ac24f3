"""BodySurface.geodesic: chart points reach MeshGeodesics as the right surface points (fast, with a
recording stand-in), and the real tables behave like distances on the body (slow: builds the tables)."""
import numpy as np
import pytest

from densepose_ext.surface import BodySurface, get_surface
from densepose_ext.surface.asset import DEFAULT_ASSET, load_asset


class RecordingGeodesics:
    """Stand-in for MeshGeodesics: Euclidean distance between the rest-pose points it is given."""

    def __init__(self, surface):
        self.surface, self.calls = surface, []

    def distance(self, fa, ba, fb, bb):
        self.calls.append((fa, ba, fb, bb))
        return np.linalg.norm(self.surface.surface_to_xyz(fa, ba) - self.surface.surface_to_xyz(fb, bb), axis=1)


@pytest.fixture()
def fresh():
    a = load_asset(DEFAULT_ASSET)
    s = BodySurface(a["vertices"], a["faces"], a["face_part"], a["face_uv"], a["vertex_mirror"])
    s.__dict__["geodesics"] = RecordingGeodesics(s)  # replaces the cached property for this instance
    return s


def test_geodesic_feeds_looked_up_surface_points(fresh):
    i1, u1, v1 = np.array([2, 23, 4]), np.array([0.5, 0.3, 0.6]), np.array([0.5, 0.7, 0.2])
    i2, u2, v2 = np.array([2, 24, 6]), np.array([0.5, 0.3, 0.5]), np.array([0.6, 0.7, 0.5])
    d = fresh.geodesic(i1, u1, v1, i2, u2, v2)
    (fa, ba, fb, bb), = fresh.geodesics.calls
    f1, b1 = fresh.iuv_to_surface(i1, u1, v1)
    assert (fa == f1).all() and np.allclose(ba, b1)
    assert (fresh.face_part[fb] == i2).all()
    assert d.shape == (3,) and d[0] > 0


def test_geodesic_rejects_unequal_lengths(fresh):
    with pytest.raises(ValueError, match="equal lengths"):
        fresh.geodesic_surface([0, 1], [[1, 0, 0]] * 2, [0], [[1, 0, 0]])


@pytest.mark.slow
def test_real_geodesics_are_metric_and_mirror_invariant():
    s = get_surface()
    rng = np.random.default_rng(0)
    n = 2000
    a = rng.integers(1, 25, n), rng.random(n), rng.random(n)
    b = rng.integers(1, 25, n), rng.random(n), rng.random(n)
    d = s.geodesic(*a, *b)
    assert np.isfinite(d).all() and (d >= 0).all() and d.max() < 3.0
    np.testing.assert_allclose(s.geodesic(*a, *a), 0.0, atol=1e-3)
    # Symmetric in its arguments, and the body is mirror-symmetric, so mirrored pairs are as far apart.
    # The tables are approximate (samples are not placed symmetrically): compare typical and worst cases.
    for other in (s.geodesic(*b, *a), s.geodesic(*s.mirror_iuv(*a), *s.mirror_iuv(*b))):
        rel = np.abs(other - d) / np.maximum(d, 0.05)
        assert np.median(rel) < 0.01 and np.percentile(rel, 99) < 0.05 and rel.max() < 0.2
    # At least the straight-line distance apart.
    xa, xb = s.surface_to_xyz(*s.iuv_to_surface(*a)), s.surface_to_xyz(*s.iuv_to_surface(*b))
    assert (d >= np.linalg.norm(xa - xb, axis=1) - 1e-6).all()
