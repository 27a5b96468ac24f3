"""Atomic file writes: a reader (or a resumed run) sees either the old file or the complete new one."""
from __future__ import annotations

import os
from pathlib import Path

TEMP_SUFFIX = ".partial"


def temp_path(path: Path) -> Path:
    """The hidden temporary file `path` is written through; it keeps the real extension last, so
    writers that choose the encoding from the extension (cv2.VideoWriter) still see it."""
    return path.with_name(f".{path.stem}{TEMP_SUFFIX}{path.suffix}")


def atomic_write_bytes(path: Path, data: bytes, fsync: bool = True) -> None:
    """Write `data` to `path` through a temporary file in the same folder and an atomic rename.

    fsync: flush the file to disk before the rename, so that it survives a power loss too (not only a crash of
    the writer); a writer that redoes lost files on resume (synth/generate.py) can skip that cost."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    with open(tmp, "wb") as f:
        f.write(data)
        if fsync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def remove_stale_temporaries(root: Path) -> list[Path]:
    """Delete temporaries left under `root` by an interrupted run; returns what was removed."""
    stale = sorted(p for p in root.rglob(f".*{TEMP_SUFFIX}*") if p.is_file()) if root.is_dir() else []
    for p in stale:
        p.unlink()
    return stale
