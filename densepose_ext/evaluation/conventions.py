"""The named conventions of a DensePose evaluation where the reference evaluator and ours differ.

Every report states the ones it used (``describe_conventions``); docs/evaluation.md sets them side by side.

- points: where a ground-truth point lands and which result cell it reads (sampling.py).
  "reference": x = dp_x * w / 255 + x_box, cell int(x - x_det) (truncation). "cell-centre": ours and the training
  convention, x = x_box + dp_x * w / 256 (box-256 cell (k + 0.5) at its centre), cell floor((x - x0) W / w).
- geodesic: how two chart points get a distance (evaluate.surface_distance). "chart-vertex": the reference's, each
  point snapped to the nearest chart vertex of its part in (U, V), distances precomputed between mesh vertices
  (SMPL files only; surface/chart_vertex_geodesic.py). "exact": ours, the geodesic between the points themselves
  (``BodySurface.geodesic``). Unless named, each surface's own (``surface_geodesic``): "chart-vertex" on SMPL, so
  datasets on the reference's SMPL files are evaluated by its protocol; "exact" on anny.
- kappa: the GPS normaliser (kappa.py): "per-part" (the reference's) or "global" (the paper's 0.255 m).
"""

from __future__ import annotations

from typing import Optional

from densepose_ext.evaluation.kappa import describe_kappa

POINT_FRAMES = ("reference", "cell-centre")
GEODESICS = ("chart-vertex", "exact")
# The geodesic convention of each body surface's own protocol: the reference's on its SMPL files (which hold the
# precomputed distances); anny has no chart-vertex distances, only exact geodesics.
SURFACE_GEODESIC = {"smpl": "chart-vertex", "anny": "exact"}


def check_choice(field: str, value: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ValueError naming the field."""
    if value not in choices:
        raise ValueError(f"{field}: expected one of {choices}, got {value!r}")
    return value


def describe_conventions(kappa_mode: str, points: str, geodesic: Optional[str]) -> dict:
    """JSON-safe statement of the conventions behind a report's numbers (geodesic None: a caller's own distance)."""
    return {
        "kappa": describe_kappa(kappa_mode),
        "points": check_choice("points", points, POINT_FRAMES),
        "geodesic": "custom" if geodesic is None else check_choice("geodesic", geodesic, GEODESICS),
    }


def surface_geodesic(backend: str, geodesic: Optional[str] = None, field: str = "geodesic") -> str:
    """The geodesic convention to measure on the surface ``backend`` ("smpl" | "anny"): ``geodesic``, or when it is
    None or "" the surface's own (SURFACE_GEODESIC: the reference's "chart-vertex" on SMPL, "exact" on anny).
    ValueError naming ``field`` for an unknown convention or "chart-vertex" on a surface without its distances."""
    if not geodesic:
        return SURFACE_GEODESIC[backend]
    check_choice(field, geodesic, GEODESICS)
    if geodesic == "chart-vertex" and SURFACE_GEODESIC[backend] != "chart-vertex":
        raise ValueError(f"{field}: 'chart-vertex' needs the reference's precomputed distances between mesh vertices "
                         f"(its SMPL files); the {backend} surface has none, expected 'exact' or empty")
    return geodesic
