"""A small fabricated "SMPL" geometry folder in the reference's file formats, with a mirror map known in closed form.

The doll is flat (z = 0, metres): parts 1 and 2 are squares centred on x = 0; each mirror pair (3, 4), (5, 6), ...,
(23, 24) is a square at x in [-0.2, -0.1] and its reflection at x in [0.1, 0.2], one pair per row. Every part's chart
is U = (x - x0) / w, V = (y - y0) / h over its square, so the left-right mirror of (I, U, V) is exactly
(FINE_PART_MIRROR[I], 1 - U, V). The anny surface mirrors its limbs with U, V unchanged, so a flip through this
surface is told apart from a flip through anny's by U alone.

Files (formats as /work/shared/golden/evaluator/README.md describes the reference's, written with scipy.io and pickle,
not with this project's code):
    SMPL_subdiv.mat            U_subdiv, V_subdiv (N x 1 double), Part_ID_subdiv (N x 1 int32), vertex (3 x N double),
                               faces (3 x F int32, 1-based)
    SMPL_SUBDIV_TRANSFORM.mat  index (N x 1 int32): 1-based mesh vertex of each chart vertex (here the identity)
    Pdist_matrix.pkl           {"Pdist_matrix": (K, 1) float32}, D[np.tril_indices(N, -1)] of the Euclidean distances
    UV_symmetry_transforms.mat U_transforms, V_transforms: 1 x 24 cell arrays of 256 x 256 double (optional)
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import scipy.io

from densepose_ext.surface.parts import FINE_PART_MIRROR, NUM_FINE_PARTS

RES = 2  # quads per part side
SIZE = 0.1  # metres per part side


def _part_squares() -> dict[int, tuple[float, float]]:
    """part -> (x0, y0) of its SIZE x SIZE square."""
    squares = {1: (-SIZE / 2, 0.0), 2: (-SIZE / 2, 1.5 * SIZE)}
    for row, part in enumerate(range(3, NUM_FINE_PARTS + 1, 2)):
        y0 = 1.5 * SIZE * row
        squares[part] = (-2 * SIZE, y0)
        squares[int(FINE_PART_MIRROR[part])] = (SIZE, y0)
    return squares


def doll_arrays() -> dict[str, np.ndarray]:
    """Chart vertices (N = 24 (RES+1)^2): part (N,), uv (N, 2), xyz (N, 3); faces (F, 3) 0-based."""
    grid = np.linspace(0.0, 1.0, RES + 1)
    vv, uu = np.meshgrid(grid, grid, indexing="ij")
    parts, uvs, xyzs, faces = [], [], [], []
    for part, (x0, y0) in sorted(_part_squares().items()):
        base = len(parts) * (RES + 1) ** 2
        uv = np.stack([uu.ravel(), vv.ravel()], axis=1)
        parts.append(np.full(len(uv), part))
        uvs.append(uv)
        xyzs.append(np.stack([x0 + SIZE * uv[:, 0], y0 + SIZE * uv[:, 1], np.zeros(len(uv))], axis=1))
        for r in range(RES):
            for c in range(RES):
                a, b = base + r * (RES + 1) + c, base + r * (RES + 1) + c + 1
                d, e = a + RES + 1, b + RES + 1
                faces += [[a, b, e], [a, e, d]]
    return {"part": np.concatenate(parts), "uv": np.concatenate(uvs), "xyz": np.concatenate(xyzs),
            "faces": np.array(faces)}


def exact_mirror(i: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The doll's left-right mirror in closed form."""
    return FINE_PART_MIRROR[np.asarray(i)], 1.0 - np.asarray(u), np.asarray(v, dtype=np.float64)


def write_symmetry_table(directory: Path, u_of: Callable, v_of: Callable) -> Path:
    """UV_symmetry_transforms.mat whose cell p - 1 holds u_of(p, row, col), v_of(p, row, col) (256 x 256 grids)."""
    row, col = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    cells = {name: np.empty((1, NUM_FINE_PARTS), dtype=object) for name in ("U_transforms", "V_transforms")}
    for p in range(1, NUM_FINE_PARTS + 1):
        cells["U_transforms"][0, p - 1] = np.asarray(u_of(p, row, col), dtype=np.float64)
        cells["V_transforms"][0, p - 1] = np.asarray(v_of(p, row, col), dtype=np.float64)
    path = Path(directory) / "UV_symmetry_transforms.mat"
    scipy.io.savemat(path, cells)
    return path


def write_doll(directory: Path, table: Optional[str] = "exact") -> Path:
    """The doll's geometry folder in `directory`; `table`: "exact" (the mirror sampled on the reference's grid,
    U' = 1 - col / 255, V' = row / 255), "v_reversed" (V' = 1 - row / 255: differs from the mesh's mirror) or None."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    a = doll_arrays()
    n = len(a["part"])
    scipy.io.savemat(directory / "SMPL_subdiv.mat", {
        "U_subdiv": a["uv"][:, :1].astype(np.float64), "V_subdiv": a["uv"][:, 1:].astype(np.float64),
        "Part_ID_subdiv": a["part"][:, None].astype(np.int32), "vertex": a["xyz"].T.astype(np.float64),
        "faces": (a["faces"] + 1).T.astype(np.int32),
    })
    scipy.io.savemat(directory / "SMPL_SUBDIV_TRANSFORM.mat", {"index": np.arange(1, n + 1, dtype=np.int32)[:, None]})
    full = np.linalg.norm(a["xyz"][:, None] - a["xyz"][None], axis=-1)
    with open(directory / "Pdist_matrix.pkl", "wb") as f:
        pickle.dump({"Pdist_matrix": full[np.tril_indices(n, -1)].astype(np.float32)[:, None]}, f, protocol=4)
    if table == "exact":
        write_symmetry_table(directory, lambda p, r, c: 1.0 - c / 255.0, lambda p, r, c: r / 255.0)
    elif table == "v_reversed":
        write_symmetry_table(directory, lambda p, r, c: 1.0 - c / 255.0, lambda p, r, c: 1.0 - r / 255.0)
    return directory
