"""The committed surface asset file: a compressed .npz with a format version and a content checksum.

Layout (all arrays little-endian; frames as in body_surface):
    vertices (V, 3) float32 metres, faces (F, 3) int32, face_part (F,) uint8 in 1..24,
    face_uv (F, 3, 2) float32 in [0, 1], vertex_mirror (V,) int32,
    format_version () int, source () str, checksum () str = sha256 over the arrays (see _checksum).
Loading needs numpy only (no anny, no torch).
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
DEFAULT_ASSET = Path(__file__).resolve().parent / "assets" / "anny_surface.npz"

# name -> (storage dtype, dtype handed to BodySurface)
ASSET_ARRAYS: dict[str, tuple[str, str]] = {
    "vertices": ("<f4", "float32"),
    "faces": ("<i4", "int64"),
    "face_part": ("u1", "int64"),
    "face_uv": ("<f4", "float32"),
    "vertex_mirror": ("<i4", "int64"),
}


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over name, dtype, shape and bytes of every stored array, in ASSET_ARRAYS order."""
    h = hashlib.sha256()
    for name, (dtype, _) in ASSET_ARRAYS.items():
        a = np.ascontiguousarray(arrays[name], dtype=dtype)
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_asset(path: str | os.PathLike, arrays: dict[str, np.ndarray], source: str) -> str:
    """Write the asset atomically (temporary file + rename); returns its checksum."""
    stored = {name: np.ascontiguousarray(arrays[name], dtype=dtype) for name, (dtype, _) in ASSET_ARRAYS.items()}
    checksum = _checksum(stored)
    buf = io.BytesIO()
    np.savez_compressed(buf, format_version=np.int64(FORMAT_VERSION), source=np.str_(source),
                        checksum=np.str_(checksum), **stored)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)
    return checksum


def load_asset(path: str | os.PathLike = DEFAULT_ASSET) -> dict[str, np.ndarray]:
    """Read and verify an asset; returns the arrays (dtypes as BodySurface expects) plus 'source'.

    Raises:
        FileNotFoundError: missing file (with the command that rebuilds it).
        ValueError: unknown format version, missing array or checksum mismatch, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"surface asset {path} not found; rebuild it with "
                                f"`python -m densepose_ext.surface build --out {path}` (needs anny)")
    with np.load(path, allow_pickle=False) as data:
        version = int(data["format_version"]) if "format_version" in data.files else None
        if version != FORMAT_VERSION:
            raise ValueError(f"surface asset {path}: format_version is {version}, expected {FORMAT_VERSION}; "
                             "rebuild it with `python -m densepose_ext.surface build`")
        missing = [n for n in (*ASSET_ARRAYS, "checksum", "source") if n not in data.files]
        if missing:
            raise ValueError(f"surface asset {path}: missing fields {missing}")
        stored = {name: data[name] for name in ASSET_ARRAYS}
        expected, source = str(data["checksum"]), str(data["source"])
    actual = _checksum(stored)
    if actual != expected:
        raise ValueError(f"surface asset {path}: checksum mismatch (file says {expected[:16]}..., "
                         f"content hashes to {actual[:16]}...); the file is corrupt or was edited")
    out = {name: stored[name].astype(dtype) for name, (_, dtype) in ASSET_ARRAYS.items()}
    out["source"] = source
    return out
