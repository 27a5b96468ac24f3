"""Reader for user-owned SMPL-based DensePose geometry (the reference project's .mat files).

Nothing here downloads anything: the files come from a directory the user names (argument, or the
environment variable $DENSEPOSE_SMPL_DIR). Public API (used by the "smpl" BodySurface backend, and by the
reference's geodesics, chart_vertex_geodesic.py):

    arrays = load_smpl_surface(data_dir=None, template_vertices=None) -> SmplSurfaceArrays
        .vertices  (V, 3) float32 metres, SMPL rest pose (welded: one vertex per distinct position)
        .faces     (F, 3) int64, 0-based indices into .vertices
        .face_part (F,)   int64 fine part I in 1..24
        .face_uv   (F, 3, 2) float32 chart (U, V) in [0, 1] per triangle corner (seams live here)
        .source_vertex (V,) int64: for each welded vertex, a file vertex it came from (0-based index
            into the file's vertex list)
        .source    str: which file(s) were read
    dist = load_smpl_distances(data_dir=None) -> PrecomputedDistances | None
        dist.vertex_distance(source_a (N,), source_b (N,)) -> (N,) float64 metres (file vertex ids)

Files, in order of preference (field names and shapes as the reference project ships them):
  1. SMPL_subdiv.mat: `vertex` (3, N) metres, `faces` (F, 3) or (3, F) 1-based, `Part_ID_subdiv` (N, 1)
     1..24, `U_subdiv`, `V_subdiv` (N, 1) or (1, N) in [0, 1]. A face's part is that of its corners. Faces
     whose corners lie in different parts belong to no chart: they are left out of the surface (logged),
     as the reference, which never reads `faces`, accepts them. (N = 27554 in the reference.)
  2. UV_Processed.mat: `All_FaceIndices` (F, 1) part per face, `All_Faces` (F, 3) 1-based indices into
     the DensePose vertices, `All_U_norm`, `All_V_norm` (Nd, 1), `All_vertices` (Nd, 1) or (1, Nd)
     1-based index of each DensePose vertex into the SMPL template; plus the template positions
     (6890, 3) metres: `template_vertices` (array or .npy path) or `smpl_template.npy` in data_dir.
  Optional, for precomputed geodesics: Pdist_matrix.pkl (pickled dict with `Pdist_matrix`, shape (K,) or
  (K, 1), K = M(M-1)/2 for M mesh vertices: the distance of mesh vertices a < b (0-based) is entry
  b(b-1)/2 + a, i.e. the strict lower triangle of the full matrix row by row, MATLAB's `D(triu(true(M), 1))`;
  NOT scipy's condensed order) and SMPL_SUBDIV_TRANSFORM.mat (`index` (N, 1) or (1, N), 1-based mesh vertex
  of each SMPL_subdiv vertex). The matrix is memory-mapped (pickled_array.py), not loaded: 1.5 GB at SMPL size.

    charts = load_smpl_chart_vertices(data_dir=None) -> SmplChartVertices
        .part (N,) int64 1..24, .uv (N, 2) float64: what the reference's evaluator reads from SMPL_subdiv.mat

Chart seams duplicate vertices in these files; vertices with bit-identical positions are welded, so
the surface is connected for geodesics while per-corner UVs keep the seams.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from densepose_ext.surface.parts import NUM_FINE_PARTS
from densepose_ext.surface.pickled_array import load_mapped

__all__ = ["SMPL_DIR_ENV", "SmplSurfaceArrays", "SmplChartVertices", "PrecomputedDistances", "load_smpl_surface",
           "load_smpl_chart_vertices", "load_smpl_distances", "smpl_data_dir"]

logger = logging.getLogger(__name__)

SMPL_DIR_ENV = "DENSEPOSE_SMPL_DIR"
SUBDIV_FILE = "SMPL_subdiv.mat"
UV_FILE = "UV_Processed.mat"
TEMPLATE_FILE = "smpl_template.npy"
PDIST_FILE = "Pdist_matrix.pkl"
PDIST_INDEX_FILE = "SMPL_SUBDIV_TRANSFORM.mat"


@dataclass(frozen=True)
class SmplSurfaceArrays:
    """Body-surface arrays read from SMPL-based DensePose files; see the module docstring."""

    vertices: np.ndarray
    faces: np.ndarray
    face_part: np.ndarray
    face_uv: np.ndarray
    source_vertex: np.ndarray
    source: str


def smpl_data_dir(data_dir: Union[str, Path, None] = None) -> Path:
    """The directory argument, else $DENSEPOSE_SMPL_DIR; error if neither names an existing directory."""
    if data_dir is None:
        data_dir = os.environ.get(SMPL_DIR_ENV)
        if not data_dir:
            raise FileNotFoundError(f"SMPL geometry: no data directory given and ${SMPL_DIR_ENV} is not set; "
                                    f"point it at a directory holding {SUBDIV_FILE} or {UV_FILE}")
    path = Path(data_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"SMPL geometry: data directory {path} does not exist")
    return path


def load_mat(path: Path) -> dict:
    """The variables of a MATLAB file (scipy.io.loadmat, imported on first use)."""
    from scipy.io import loadmat

    return loadmat(str(path))


def mat_field(data: dict, path: Path, name: str) -> np.ndarray:
    """Variable `name` of `load_mat(path)`; ValueError naming the file, the field and the fields present."""
    if name not in data:
        present = sorted(k for k in data if not k.startswith("__"))
        raise ValueError(f"{path}: missing field '{name}' (fields present: {present})")
    return np.asarray(data[name])


def _vector(data: dict, path: Path, name: str, length: Optional[int] = None) -> np.ndarray:
    """A field stored as (n, 1) or (1, n) (MATLAB column/row) as a flat (n,) array."""
    value = mat_field(data, path, name)
    if value.ndim != 2 or 1 not in value.shape or (length is not None and value.size != length):
        expected = f"({length if length is not None else 'n'}, 1) or (1, {length if length is not None else 'n'})"
        raise ValueError(f"{path}: field '{name}' expected shape {expected}, got {value.shape}")
    return value.reshape(-1)


def _matrix(data: dict, path: Path, name: str, columns: int, rows: Optional[int] = None) -> np.ndarray:
    """A field stored as (n, columns), or transposed (columns, n), as (n, columns)."""
    value = mat_field(data, path, name)
    if value.ndim == 2 and value.shape[1] != columns and value.shape[0] == columns:
        value = value.T
    if value.ndim != 2 or value.shape[1] != columns or (rows is not None and value.shape[0] != rows):
        raise ValueError(f"{path}: field '{name}' expected shape ({rows if rows is not None else 'n'}, "
                         f"{columns}), got {value.shape}")
    return value


def _one_based(value: np.ndarray, path: Path, name: str, count: int) -> np.ndarray:
    """1-based MATLAB indices in [1, count] -> 0-based int64."""
    if not np.issubdtype(value.dtype, np.number) or np.any(value != np.round(value)):
        raise ValueError(f"{path}: field '{name}' expected integer indices, got dtype {value.dtype}")
    if value.size and (value.min() < 1 or value.max() > count):
        raise ValueError(f"{path}: field '{name}' expected 1-based indices in [1, {count}], "
                         f"got [{value.min()}, {value.max()}]")
    return value.astype(np.int64) - 1


def _check_range(value: np.ndarray, path: Path, name: str, low: float, high: float) -> None:
    if value.size and (not np.isfinite(value).all() or value.min() < low or value.max() > high):
        raise ValueError(f"{path}: field '{name}' expected finite values in [{low}, {high}], "
                         f"got [{value.min()}, {value.max()}]")


def _weld(positions: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge vertices with identical positions: (vertices (V', 3), faces (F, 3), source_vertex (V',))."""
    welded, first, inverse = np.unique(positions, axis=0, return_index=True, return_inverse=True)
    return welded, inverse.reshape(-1)[faces], first.astype(np.int64)


def _arrays(positions: np.ndarray, faces: np.ndarray, face_part: np.ndarray, face_uv: np.ndarray,
            source: str) -> SmplSurfaceArrays:
    vertices, welded_faces, source_vertex = _weld(positions, faces)
    return SmplSurfaceArrays(vertices=vertices.astype(np.float32), faces=welded_faces.astype(np.int64),
                             face_part=face_part.astype(np.int64), face_uv=face_uv.astype(np.float32),
                             source_vertex=source_vertex, source=source)


@dataclass(frozen=True)
class SmplChartVertices:
    """The chart vertices of SMPL_subdiv.mat: part (N,) int64 in 1..24, uv (N, 2) float64 (U, V) in [0, 1]."""

    part: np.ndarray
    uv: np.ndarray


def _chart_vertices(data: dict, path: Path, n: Optional[int] = None) -> SmplChartVertices:
    part = _vector(data, path, "Part_ID_subdiv", n)
    u = _vector(data, path, "U_subdiv", len(part))
    v = _vector(data, path, "V_subdiv", len(part))
    _check_range(part, path, "Part_ID_subdiv", 1, NUM_FINE_PARTS)
    _check_range(u, path, "U_subdiv", 0.0, 1.0)
    _check_range(v, path, "V_subdiv", 0.0, 1.0)
    if np.any(part != np.round(part)):
        raise ValueError(f"{path}: field 'Part_ID_subdiv' expected integer part labels, got non-integer values")
    return SmplChartVertices(part=part.astype(np.int64), uv=np.stack([u, v], axis=1).astype(np.float64))


def load_smpl_chart_vertices(data_dir: Union[str, Path, None] = None) -> SmplChartVertices:
    """Part and (U, V) of every chart vertex of SMPL_subdiv.mat (the fields the reference's evaluator reads)."""
    path = smpl_data_dir(data_dir) / SUBDIV_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path.parent}: expected {SUBDIV_FILE}, not found")
    return _chart_vertices(load_mat(path), path)


def _from_subdiv(path: Path) -> SmplSurfaceArrays:
    data = load_mat(path)
    positions = _matrix(data, path, "vertex", 3).astype(np.float64)
    n = len(positions)
    faces = _one_based(_matrix(data, path, "faces", 3), path, "faces", n)
    charts = _chart_vertices(data, path, n)
    corner_part = charts.part[faces]
    one_part = (corner_part == corner_part[:, :1]).all(axis=1)
    if not one_part.all():
        # The reference accepts such files (its evaluator reads no faces); no chart holds these triangles.
        logger.warning("%s: %d of %d faces have corners in different parts (first: face %d, parts %s); they "
                       "belong to no chart and are left out of the surface", path, np.count_nonzero(~one_part),
                       len(faces), int(np.flatnonzero(~one_part)[0]), corner_part[~one_part][0].tolist())
        faces, corner_part = faces[one_part], corner_part[one_part]
    face_uv = charts.uv[faces]
    return _arrays(positions, faces, corner_part[:, 0], face_uv, str(path))


def _from_uv_processed(path: Path, template: np.ndarray, template_name: str) -> SmplSurfaceArrays:
    data = load_mat(path)
    dp_to_smpl = _one_based(_vector(data, path, "All_vertices"), path, "All_vertices", len(template))
    n = len(dp_to_smpl)
    faces = _one_based(_matrix(data, path, "All_Faces", 3), path, "All_Faces", n)
    part = _vector(data, path, "All_FaceIndices", len(faces))
    u, v = _vector(data, path, "All_U_norm", n), _vector(data, path, "All_V_norm", n)
    _check_range(part, path, "All_FaceIndices", 1, NUM_FINE_PARTS)
    _check_range(u, path, "All_U_norm", 0.0, 1.0)
    _check_range(v, path, "All_V_norm", 0.0, 1.0)
    face_uv = np.stack([u[faces], v[faces]], axis=-1)
    return _arrays(template[dp_to_smpl], faces, part, face_uv, f"{path} + {template_name}")


def _template(data_dir: Path, template_vertices: Union[np.ndarray, str, Path, None]) -> tuple[np.ndarray, str]:
    if template_vertices is None:
        template_vertices = data_dir / TEMPLATE_FILE
        if not template_vertices.is_file():
            raise FileNotFoundError(f"{data_dir}: found {UV_FILE} but no SMPL template positions: pass "
                                    f"template_vertices= (an (n, 3) array or .npy) or add {TEMPLATE_FILE}")
    if isinstance(template_vertices, (str, Path)):
        name, array = str(template_vertices), np.load(template_vertices)
    else:
        name, array = "template_vertices", np.asarray(template_vertices)
    if array.ndim != 2 or array.shape[1] != 3 or not np.isfinite(array).all():
        raise ValueError(f"{name}: expected finite SMPL template positions of shape (n, 3) metres, "
                         f"got shape {array.shape}")
    return array.astype(np.float64), name


def load_smpl_surface(data_dir: Union[str, Path, None] = None, *,
                      template_vertices: Union[np.ndarray, str, Path, None] = None) -> SmplSurfaceArrays:
    """Read the body surface from SMPL-based DensePose files (see the module docstring)."""
    directory = smpl_data_dir(data_dir)
    if (directory / SUBDIV_FILE).is_file():
        return _from_subdiv(directory / SUBDIV_FILE)
    if (directory / UV_FILE).is_file():
        template, name = _template(directory, template_vertices)
        return _from_uv_processed(directory / UV_FILE, template, name)
    raise FileNotFoundError(f"{directory}: expected {SUBDIV_FILE} or {UV_FILE}, found neither")


class PrecomputedDistances:
    """Geodesic distances between file vertices from the reference's distance matrix (see the module docstring).

    condensed (M(M-1)/2,) metres (may be a memory map): entry b(b-1)/2 + a holds mesh vertices a < b;
    index (N,) 0-based mesh vertex of each file vertex. Distances of a vertex to itself are 0.
    """

    def __init__(self, condensed: np.ndarray, index: np.ndarray, source: str = PDIST_FILE):
        self.condensed = condensed.reshape(-1)  # a view: a memory map stays mapped
        self.index = np.asarray(index, dtype=np.int64)
        self.n = int(round((1 + np.sqrt(1 + 8 * len(self.condensed))) / 2))
        if self.n * (self.n - 1) // 2 != len(self.condensed):
            raise ValueError(f"{source}: 'Pdist_matrix' expected n(n-1)/2 entries, got {len(self.condensed)}")
        if len(self.index) and (self.index.min() < 0 or self.index.max() >= self.n):
            raise ValueError(f"{PDIST_INDEX_FILE}: 'index' expected values in [1, {self.n}], "
                             f"got [{self.index.min() + 1}, {self.index.max() + 1}]")

    def mesh_distance(self, mesh_a: np.ndarray, mesh_b: np.ndarray) -> np.ndarray:
        """(N,) float64 metres between mesh vertices mesh_a[i] and mesh_b[i] (0-based rows of the matrix)."""
        lo, hi = np.minimum(mesh_a, mesh_b), np.maximum(mesh_a, mesh_b)
        same = lo == hi
        k = np.where(same, 0, hi * (hi - 1) // 2 + lo)
        return np.where(same, 0.0, self.condensed[k].astype(np.float64))

    def vertex_distance(self, source_a: np.ndarray, source_b: np.ndarray) -> np.ndarray:
        """(N,) float64 metres between file vertices source_a[i] and source_b[i] (0-based)."""
        return self.mesh_distance(self.index[np.asarray(source_a)], self.index[np.asarray(source_b)])


def load_smpl_distances(data_dir: Union[str, Path, None] = None) -> Optional[PrecomputedDistances]:
    """The optional precomputed distances (memory-mapped), or None when the files are absent."""
    directory = smpl_data_dir(data_dir)
    pdist_path, index_path = directory / PDIST_FILE, directory / PDIST_INDEX_FILE
    if not pdist_path.is_file() or not index_path.is_file():
        return None
    payload = load_mapped(pdist_path)
    if not isinstance(payload, dict) or "Pdist_matrix" not in payload:
        raise ValueError(f"{pdist_path}: expected a dict with key 'Pdist_matrix', got "
                         f"{sorted(payload) if isinstance(payload, dict) else type(payload).__name__}")
    matrix = payload["Pdist_matrix"]
    if not isinstance(matrix, np.ndarray) or matrix.ndim not in (1, 2) or (matrix.ndim == 2 and matrix.shape[1] != 1):
        raise ValueError(f"{pdist_path}: field 'Pdist_matrix' expected a numpy array of shape (K,) or (K, 1), got "
                         f"{getattr(matrix, 'shape', type(matrix).__name__)}")
    index_data = load_mat(index_path)
    index = _one_based(_vector(index_data, index_path, "index"), index_path, "index", np.iinfo(np.int64).max)
    return PrecomputedDistances(matrix, index, str(pdist_path))
