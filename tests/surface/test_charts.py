"""Tutte/mean-value charts on small synthetic discs: injective, in [0, 1], and distortion on known maps."""
import numpy as np
import pytest

from densepose_ext.surface.charts import (SUPERELLIPSE_EXPONENT, chart_distortion, embed_disc,
                                          mean_value_weights, superellipse_points)
from densepose_ext.surface.mesh_topology import boundary_loops
from test_mesh_topology import grid_faces


def signed_areas(uv, faces):
    d = uv[faces][:, 1:] - uv[faces][:, :1]
    return 0.5 * (d[:, 0, 0] * d[:, 1, 1] - d[:, 0, 1] * d[:, 1, 0])


def grid_vertices(n, width=1.0, height=1.0):
    i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    return np.stack([j.ravel() * width / n, i.ravel() * height / n, np.zeros((n + 1) ** 2)], 1)


def bumpy_cap(n=12):
    """A strongly curved, wavy disc (z = bump), counter-clockwise seen from +z."""
    xyz = grid_vertices(n) - [0.5, 0.5, 0.0]
    r2 = (xyz[:, :2] ** 2).sum(1)
    xyz[:, 2] = 0.6 * np.exp(-8 * r2) + 0.05 * np.sin(9 * xyz[:, 0])
    return xyz, grid_faces(n)


def test_superellipse_starts_bottom_middle_and_lies_on_curve():
    p = superellipse_points(np.array([0.0, 0.5, 0.25, 0.75]), 2.0, 1.0)
    np.testing.assert_allclose(p[0], [0.0, -1.0], atol=1e-6)
    np.testing.assert_allclose(p[1], [0.0, 1.0], atol=1e-3)
    # Counter-clockwise: a quarter of the way round is on the right (x > 0), three quarters on the left.
    assert p[2, 0] > 1.9 and p[3, 0] < -1.9
    t = np.linspace(0, 1, 50, endpoint=False)
    q = superellipse_points(t, 2.0, 1.0)
    np.testing.assert_allclose(np.abs(q[:, 0] / 2.0) ** SUPERELLIPSE_EXPONENT
                               + np.abs(q[:, 1]) ** SUPERELLIPSE_EXPONENT, 1.0, atol=1e-4)


def test_mean_value_weights_are_positive_on_edges_only():
    xyz, faces = bumpy_cap(4)
    w = mean_value_weights(xyz, faces).tocoo()
    assert (w.data > 0).all()
    edges = {tuple(sorted(e)) for f in faces for e in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0]))}
    assert {tuple(sorted(e)) for e in zip(w.row, w.col)} == edges


@pytest.mark.parametrize("mesh", ["flat", "bumpy"])
def test_chart_is_injective_and_in_unit_square(mesh):
    xyz, faces = (grid_vertices(10, 2.0, 1.0), grid_faces(10)) if mesh == "flat" else bumpy_cap()
    uv, aspect = embed_disc(xyz, faces, v_axis=np.array([0.0, 1.0, 0.0]))
    assert uv.min() >= 0.0 and uv.max() <= 1.0
    area = signed_areas(uv, faces)
    assert (area > 0).all()  # same orientation everywhere: no fold
    # No overlap either: the chart triangles exactly tile the region inside the boundary, so their areas
    # add up to the superellipse polygon's area (shoelace formula on the boundary).
    (loop,) = boundary_loops(faces)
    p = uv[loop]
    polygon = 0.5 * np.sum(p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1])
    assert area.sum() == pytest.approx(polygon, rel=1e-9)
    if mesh == "flat":
        assert aspect == pytest.approx(2.0, rel=1e-6)  # width / height of a 2 x 1 rectangle


def test_v_grows_along_v_axis():
    xyz, faces = grid_vertices(8, 1.0, 3.0), grid_faces(8)
    uv, _ = embed_disc(xyz, faces, v_axis=np.array([0.0, 1.0, 0.0]))
    assert np.corrcoef(uv[:, 1], xyz[:, 1])[0, 1] > 0.95
    uv_down, _ = embed_disc(xyz, faces, v_axis=np.array([0.0, -1.0, 0.0]))
    assert np.corrcoef(uv_down[:, 1], xyz[:, 1])[0, 1] < -0.95


def test_non_disc_is_rejected_with_reason():
    faces = np.delete(grid_faces(3), [4, 13], axis=0)  # annulus
    with pytest.raises(ValueError, match="not a disc"):
        embed_disc(grid_vertices(3), faces, np.array([0.0, 1.0, 0.0]))


def test_distortion_of_isometry_and_of_a_stretch():
    xyz, faces = grid_vertices(4, 2.0, 1.0), grid_faces(4)
    iso = xyz[:, :2] / [2.0, 1.0]  # chart = rectangle scaled per axis into [0, 1]^2; aspect 2 undoes it
    d = chart_distortion(xyz, faces, iso, aspect=2.0)
    assert d.area == pytest.approx(0.0, abs=1e-12)
    assert d.angle_median == pytest.approx(1.0) and d.angle_p90 == pytest.approx(1.0)
    assert d.log_stretch == pytest.approx(0.0, abs=1e-12)
    # Read with the wrong aspect (1 instead of 2) the same chart is squeezed 2:1 in U.
    d = chart_distortion(xyz, faces, iso, aspect=1.0)
    assert d.angle_median == pytest.approx(2.0) and d.area == pytest.approx(0.0, abs=1e-12)
