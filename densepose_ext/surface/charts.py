"""Chart (U, V) of one body part: a provably injective convex-combination (Tutte) embedding.

Method (Floater 2003, "Mean value coordinates"): the part is a triangulated disc. Its boundary loop is
laid out by arc length on a strictly convex curve (a superellipse |x/a|^4 + |y/b|^4 = 1 whose aspect a/b
follows the part's size), every interior vertex is placed at a convex combination of its neighbours
(mean-value weights, all positive). Floater's theorem: positive weights + strictly convex boundary
=> every triangle keeps its orientation and no two triangles overlap, i.e. the chart is injective.
Any positive weights keep the guarantee, so the weights are then re-scaled iteratively to even out the
area distortion (Yoshizawa, Belyaev & Seidel 2004, "A fast and simple stretch-minimizing mesh
parameterization"); the iterate with the least distortion (ChartDistortion.log_stretch) is kept, and the chart is scaled per
axis into [0, 1]^2.

Frames: vertices in the surface frame (metres); output in the chart frame (U, V in [0, 1]), V running
along ``v_axis`` (e.g. proximal -> distal along a limb), U across it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from .mesh_topology import boundary_loops, euler_characteristic

SUPERELLIPSE_EXPONENT = 4.0
STRETCH_ITERATIONS = 16
# Exponent of the stretch re-weighting step (Yoshizawa et al. use 1; smaller is slower but steadier).
STRETCH_POWER = 0.5
# Boundary vertices this close (fraction of the part's height) to the lowest one form its low end.
LOW_END_FRACTION = 0.1
# Smallest accepted chart triangle area (float32 charts keep their orientation well above this).
MIN_CHART_AREA = 1e-11


@dataclass(frozen=True)
class ChartDistortion:
    """Distortion of a chart against the 3D surface, over the part's triangles weighted by 3D area.

    The chart is first scaled back to the part's natural aspect (the per-axis scaling into [0, 1]^2 is
    left out) and both total areas are normalised to 1.
    area: mean |log(chart area / 3D area)| (0 = equal-area; 0.5 ~ areas off by a factor 1.65).
    angle_median, angle_p90: median and 90th percentile of sigma_max / sigma_min of the 3D -> chart
        Jacobian (1 = conformal).
    """

    area: float
    angle_median: float
    angle_p90: float
    log_stretch: float  # mean |log sigma_max| + |log sigma_min| (both distortions; 0 = isometric)


def _corner_angles(p: np.ndarray) -> np.ndarray:
    """(T, 3) interior angle at each corner of triangles p (T, 3, 3)."""
    a = np.roll(p, -1, axis=1) - p  # corner k -> k+1
    b = np.roll(p, 1, axis=1) - p  # corner k -> k-1
    cos = np.einsum("tkd,tkd->tk", a, b) / (np.linalg.norm(a, axis=2) * np.linalg.norm(b, axis=2))
    return np.arccos(np.clip(cos, -1.0, 1.0))


def mean_value_weights(xyz: np.ndarray, faces: np.ndarray) -> sp.csr_matrix:
    """(V, V) sparse positive mean-value weights w[i, j] = (tan(a/2) + tan(b/2)) / |x_i - x_j| summed over
    the (one or two) triangles containing edge ij, where a, b are the angles at i in those triangles.

    Args:
        xyz: (V, 3) float64 vertex positions (local ids). faces: (T, 3) local vertex ids.
    """
    p = xyz[faces]
    half_tan = np.tan(_corner_angles(p) / 2.0)  # (T, 3)
    rows, cols, vals = [], [], []
    for k in range(3):  # three corners of every triangle (vectorised over triangles)
        i = faces[:, k]
        for j in (faces[:, (k + 1) % 3], faces[:, (k + 2) % 3]):
            rows.append(i)
            cols.append(j)
            vals.append(half_tan[:, k] / np.linalg.norm(xyz[j] - xyz[i], axis=1))
    n = len(xyz)
    w = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return w.tocsr()


def superellipse_points(t: np.ndarray, half_width: float, half_height: float) -> np.ndarray:
    """(N, 2) points on the superellipse at arc-length fractions t in [0, 1), starting at the bottom
    middle (0, -half_height) and running counter-clockwise."""
    theta = np.linspace(0.0, 2.0 * np.pi, 4097)
    c, s = np.cos(theta - np.pi / 2), np.sin(theta - np.pi / 2)
    e = 2.0 / SUPERELLIPSE_EXPONENT
    curve = np.stack([half_width * np.sign(c) * np.abs(c) ** e, half_height * np.sign(s) * np.abs(s) ** e], 1)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))])
    arc /= arc[-1]
    return np.stack([np.interp(t, arc, curve[:, 0]), np.interp(t, arc, curve[:, 1])], axis=1)


def _jacobian_singular_values(xyz_tri: np.ndarray, uv_tri: np.ndarray) -> np.ndarray:
    """(T, 2) singular values (max, min) of the linear map 3D triangle -> chart triangle."""
    e1 = xyz_tri[:, 1] - xyz_tri[:, 0]
    e2 = xyz_tri[:, 2] - xyz_tri[:, 0]
    x_axis = e1 / np.linalg.norm(e1, axis=1, keepdims=True)
    normal = np.cross(e1, e2)
    y_axis = np.cross(normal / np.linalg.norm(normal, axis=1, keepdims=True), x_axis)
    # 2D coordinates of the 3D triangle in its own plane.
    src = np.stack([np.stack([np.einsum("td,td->t", e, x_axis), np.einsum("td,td->t", e, y_axis)], 1)
                    for e in (e1, e2)], axis=2)  # (T, 2, 2) columns = edges
    dst = np.stack([uv_tri[:, 1] - uv_tri[:, 0], uv_tri[:, 2] - uv_tri[:, 0]], axis=2)
    jac = dst @ np.linalg.inv(src)
    return np.linalg.svd(jac, compute_uv=False)


def chart_distortion(xyz: np.ndarray, faces: np.ndarray, uv: np.ndarray, aspect: float) -> ChartDistortion:
    """Area and angle distortion (see :class:`ChartDistortion`) of chart ``uv`` (V, 2) of mesh (xyz, faces);
    ``aspect`` = natural width / height used to undo the per-axis scaling into [0, 1]^2."""
    xyz_tri = xyz[faces]
    uv_nat = uv * np.array([aspect, 1.0])
    uv_tri = uv_nat[faces]
    area3 = 0.5 * np.linalg.norm(np.cross(xyz_tri[:, 1] - xyz_tri[:, 0], xyz_tri[:, 2] - xyz_tri[:, 0]), axis=1)
    d = uv_tri[:, 1:] - uv_tri[:, :1]
    area2 = 0.5 * np.abs(d[:, 0, 0] * d[:, 1, 1] - d[:, 0, 1] * d[:, 1, 0])
    weight = area3 / area3.sum()
    log_ratio = np.log(area2 / area2.sum()) - np.log(weight)
    sv = _jacobian_singular_values(xyz_tri, uv_tri)
    ratio = sv[:, 0] / sv[:, 1]
    order = np.argsort(ratio)
    cum = np.cumsum(weight[order])
    median, p90 = ratio[order][np.searchsorted(cum, [0.5, 0.9])]
    scale = np.sqrt(area3.sum() / area2.sum())  # normalise total areas before measuring stretch
    log_sv = np.abs(np.log(sv * scale)).sum(axis=1)
    return ChartDistortion(area=float(np.sum(weight * np.abs(log_ratio))), angle_median=float(median),
                           angle_p90=float(p90), log_stretch=float(np.sum(weight * log_sv)))


def embed_disc(xyz: np.ndarray, faces: np.ndarray, v_axis: np.ndarray) -> tuple[np.ndarray, float]:
    """Injective chart of a triangulated disc.

    Args:
        xyz: (V, 3) float64 positions, surface frame (metres), local vertex ids (every vertex used).
        faces: (T, 3) int local vertex ids, consistently oriented (counter-clockwise seen from outside).
        v_axis: (3,) direction along which V should grow.

    Returns:
        uv: (V, 2) float64 chart coordinates in [0, 1]; every triangle has positive orientation.
        aspect: natural width / height of the chart before the per-axis scaling to [0, 1]^2.

    Raises:
        ValueError: when the triangles are not a disc (Euler characteristic != 1 or not one boundary loop).
    """
    chi = euler_characteristic(faces)
    loops = boundary_loops(faces)
    if chi != 1 or len(loops) != 1:
        raise ValueError(f"part is not a disc: Euler characteristic {chi} (expected 1), "
                         f"{len(loops)} boundary loops (expected 1)")
    loop = loops[0]
    v_axis = v_axis / np.linalg.norm(v_axis)
    height_along = xyz @ v_axis
    height = float(np.ptp(height_along))
    tri = xyz[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum()
    width = float(np.clip(area / height, 0.25 * height, 4.0 * height))
    # Start the boundary (U = 0.5, V = 0) in the middle of its lowest stretch along v_axis, so V grows
    # along v_axis: the low boundary vertex nearest to the centroid of the low boundary vertices.
    low = loop[height_along[loop] <= height_along[loop].min() + LOW_END_FRACTION * height]
    anchor = low[np.argmin(np.linalg.norm(xyz[low] - xyz[low].mean(axis=0), axis=1))]
    loop = np.roll(loop, -int(np.flatnonzero(loop == anchor)[0]))
    seg = np.linalg.norm(xyz[np.roll(loop, -1)] - xyz[loop], axis=1)
    t = np.concatenate([[0.0], np.cumsum(seg)[:-1]]) / seg.sum()
    boundary_uv = superellipse_points(t, width / 2.0, height / 2.0)

    n = len(xyz)
    interior = np.setdiff1d(np.arange(n), loop)
    weights = mean_value_weights(xyz, faces)
    uv = np.zeros((n, 2))
    uv[loop] = boundary_uv
    vertex_scale = np.ones(n)
    best_uv, best_distortion = None, np.inf
    for _ in range(STRETCH_ITERATIONS + 1):
        w = weights @ sp.diags(1.0 / vertex_scale)  # column j scaled: neighbour j pulls less
        lap = (sp.diags(np.asarray(w.sum(axis=1)).ravel()) - w).tocsc()
        solver = splu(lap[interior][:, interior].tocsc())
        rhs = -(lap[interior][:, loop] @ boundary_uv)
        uv[interior] = np.stack([solver.solve(rhs[:, 0]), solver.solve(rhs[:, 1])], axis=1)
        chart = (uv + np.array([width / 2.0, height / 2.0])) / np.array([width, height])
        distortion = chart_distortion(xyz, faces, chart, width / height).log_stretch
        if distortion < best_distortion and _min_float32_area(chart, faces) > MIN_CHART_AREA:
            best_uv, best_distortion = np.clip(chart, 0.0, 1.0), distortion
        vertex_scale = vertex_scale * _vertex_stretch(xyz, faces, uv) ** STRETCH_POWER
    if best_uv is None:
        raise ValueError(f"chart has triangles with area <= {MIN_CHART_AREA} after float32 rounding")
    return best_uv, width / height


def _min_float32_area(uv: np.ndarray, faces: np.ndarray) -> float:
    """Smallest signed area of the chart triangles once the chart is stored as float32."""
    tri = uv.astype(np.float32).astype(np.float64)[faces]
    d = tri[:, 1:] - tri[:, :1]
    return float(np.min(0.5 * (d[:, 0, 0] * d[:, 1, 1] - d[:, 0, 1] * d[:, 1, 0])))


def _vertex_stretch(xyz: np.ndarray, faces: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """(V,) L2 stretch (Sander et al. 2001) averaged over each vertex's triangles, normalised to mean 1:
    sqrt of (3D area / chart area)-weighted mean of (sigma_max^2 + sigma_min^2) / 2 of the chart -> 3D map."""
    xyz_tri = xyz[faces]
    sv = _jacobian_singular_values(xyz_tri, uv[faces])
    area3 = 0.5 * np.linalg.norm(np.cross(xyz_tri[:, 1] - xyz_tri[:, 0], xyz_tri[:, 2] - xyz_tri[:, 0]), axis=1)
    # Stretch of the inverse map chart -> 3D is 1/sigma.
    tri_stretch = np.sqrt((sv[:, 0] ** -2 + sv[:, 1] ** -2) / 2.0)
    num = np.bincount(faces.ravel(), np.repeat(area3 * tri_stretch ** 2, 3), minlength=len(xyz))
    den = np.bincount(faces.ravel(), np.repeat(area3, 3), minlength=len(xyz))
    s = np.sqrt(num / den)
    return s / np.mean(s)
