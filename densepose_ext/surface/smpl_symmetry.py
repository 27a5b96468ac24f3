"""The reference's left-right symmetry table of the SMPL charts (`UV_symmetry_transforms.mat`), and its flip.

The reference project mirrors DensePose-COCO points with this table: a user who owns it gets exactly the
reference's flip; without it the "smpl" BodySurface mirrors through its mesh (body_surface.BodySurface._mirror).

File format (MATLAB, read with scipy.io.loadmat), as the reference ships and reads it
(densepose/structures/transform_data.py, `DensePoseTransformData.load`):
    U_transforms, V_transforms: 1 x 24 cell arrays; cell p - 1 is a 256 x 256 array (float) giving, for a point
        of part p at chart (U, V), the U (resp. V) of its mirror point on part FINE_PART_MIRROR[p], indexed
        [int(V * 255), int(U * 255)].
The reference's flip (`DensePoseDataRelative._flip_iuv_semantics`) looks the table up with the point's own
(pre-flip) part and truncates `U * 255` computed in float32; `SymmetryTableMirror` does the same.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np

from .parts import FINE_PART_MIRROR, NUM_FINE_PARTS
from .smpl import load_mat, mat_field

SYMMETRY_FILE = "UV_symmetry_transforms.mat"
TABLE_SIZE = 256
_FIELDS = ("U_transforms", "V_transforms")


def _cells(data: dict, path: Path, name: str) -> np.ndarray:
    """One field: a 1 x 24 cell array of 256 x 256 tables -> (24, 256, 256) float32."""
    cells = mat_field(data, path, name)
    if cells.dtype != object or cells.shape != (1, NUM_FINE_PARTS):
        raise ValueError(f"{path}: field '{name}' expected a 1 x {NUM_FINE_PARTS} cell array (one "
                         f"{TABLE_SIZE} x {TABLE_SIZE} table per part), got {cells.dtype} array of shape {cells.shape}")
    tables = []
    for p in range(NUM_FINE_PARTS):
        table = np.asarray(cells[0, p])
        if table.shape != (TABLE_SIZE, TABLE_SIZE) or not np.issubdtype(table.dtype, np.number):
            raise ValueError(f"{path}: field '{name}' cell {p + 1} expected a numeric {TABLE_SIZE} x {TABLE_SIZE} "
                             f"table, got {table.dtype} of shape {table.shape}")
        if not np.isfinite(table).all() or table.min() < 0.0 or table.max() > 1.0:
            raise ValueError(f"{path}: field '{name}' cell {p + 1} expected chart values in [0, 1], got range "
                             f"[{np.nanmin(table)}, {np.nanmax(table)}]")
        tables.append(table.astype(np.float32))  # the reference converts to float32 too
    return np.stack(tables)


class SymmetryTableMirror:
    """(I, U, V) -> mirrored (I', U', V') by the reference's table lookup.

    Args:
        u_transforms, v_transforms: (24, 256, 256) float32, [I - 1, int(V * 255), int(U * 255)] -> U', V'.
        source: where the tables came from (for messages).
    """

    def __init__(self, u_transforms: np.ndarray, v_transforms: np.ndarray, source: str = "symmetry table"):
        shape = (NUM_FINE_PARTS, TABLE_SIZE, TABLE_SIZE)
        for name, table in (("u_transforms", u_transforms), ("v_transforms", v_transforms)):
            if np.shape(table) != shape:
                raise ValueError(f"{source}: {name} expected shape {shape}, got {np.shape(table)}")
        self.u_transforms = np.asarray(u_transforms, dtype=np.float32)
        self.v_transforms = np.asarray(v_transforms, dtype=np.float32)
        self.source = source

    def __call__(self, i: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """i (N,) int in 1..24, u, v (N,) in [0, 1] -> I' (N,) int64, U', V' (N,) float64."""
        i = np.asarray(i, dtype=np.int64).ravel()
        if i.size and (i.min() < 1 or i.max() > NUM_FINE_PARTS):
            raise ValueError(f"{self.source}: part labels must be in 1..{NUM_FINE_PARTS}, got {i.min()}..{i.max()}")
        # The reference computes (u * 255).long() on float32 tensors: truncation, in float32.
        col = _table_index(u)
        row = _table_index(v)
        part = i - 1
        return (FINE_PART_MIRROR[i], self.u_transforms[part, row, col].astype(np.float64),
                self.v_transforms[part, row, col].astype(np.float64))


def _table_index(x: np.ndarray) -> np.ndarray:
    """int(x * 255) as the reference computes it (float32), kept inside the table for x slightly outside [0, 1]."""
    scaled = np.asarray(x, dtype=np.float32).ravel() * np.float32(TABLE_SIZE - 1)
    return np.clip(scaled.astype(np.int64), 0, TABLE_SIZE - 1)


def load_symmetry_table(path: Union[str, Path]) -> SymmetryTableMirror:
    """Read `UV_symmetry_transforms.mat` (module docstring); ValueError naming file and field if malformed."""
    path = Path(path)
    data = load_mat(path)
    return SymmetryTableMirror(*(_cells(data, path, name) for name in _FIELDS), source=str(path))


def find_symmetry_table(data_dir: Union[str, Path]) -> Optional[SymmetryTableMirror]:
    """The table in `data_dir` when the user has it, else None (the surface then mirrors through its mesh)."""
    path = Path(data_dir) / SYMMETRY_FILE
    return load_symmetry_table(path) if path.is_file() else None
