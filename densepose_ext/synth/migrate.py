"""``python -m densepose_ext.synth migrate DIR``: rewrite a DensePose-Synth folder of format 1 as format 2.

Format 1 wrote ``dense/<stem>_IUV.png`` with R = I, G = U*255, B = V*255; format 2 writes the reference's layout
B = I (vis/iuv_image.py), so one reader serves every ``*_IUV.png``. Only those files change (red and blue swap,
pixel for pixel); images, INDS, meta and shards stay as they are, the version fields go to 2.

The swap is its own inverse and many images could pass for either layout, so the migration never decides a
file's layout from its pixels. It is crash-safe and idempotent by construction:

1. every ``dense/*_IUV.png`` is converted into the staging folder ``.migrate_dense/`` (each file written to a
   temporary and renamed; a file there is complete and converted, so a rerun skips it), then the marker
   ``.migrate_dense/COMPLETE`` is written;
2. once the marker exists, the converted files replace the originals one by one (a rerun moves those left),
   annotations.json's ``info.version`` and finally synth_config.json's ``format_version`` (the commit point)
   are set to 2 and the staging folder is removed.

Until the commit point the folder still says format 1, so readers refuse it rather than misread a half-migrated
``dense/``. A folder already at format 2 is left untouched.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from densepose_ext.inference_io.atomic import atomic_write_bytes, remove_stale_temporaries
from densepose_ext.surface.parts import NUM_FINE_PARTS
from densepose_ext.synth.dataset_format import CONFIG_FILE, DENSE_DIR, FORMAT_VERSION, folder_format_version
from densepose_ext.utils.cli_errors import UserInputError
from densepose_ext.vis.iuv_image import iuv_png_bytes

STAGING_DIR = ".migrate_dense"
COMPLETE_MARKER = "COMPLETE"
IUV_GLOB = "*_IUV.png"


def convert_format1_iuv(path: Path) -> bytes:
    """The format-2 PNG bytes of the format-1 IUV image at `path` (on disk R = I, G = U*255, B = V*255)."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.ndim != 3 or raw.shape[2] != 3 or raw.dtype != np.uint8:
        got = "an unreadable file" if raw is None else f"{raw.shape} {raw.dtype}"
        raise UserInputError(path, "an 8-bit 3-channel PNG (format 1: R = I, G = U*255, B = V*255)", got,
                             message=f"{path}: expected an 8-bit 3-channel PNG (format 1: R = I, G = U*255, "
                                     f"B = V*255), got {got}; regenerate the folder")
    # cv2 gives (B, G, R) = (V, U, I) for format 1.
    labels_max = int(raw[..., 2].max())
    if labels_max > NUM_FINE_PARTS:
        raise UserInputError(path, f"part labels 0..{NUM_FINE_PARTS}", f"values up to {labels_max}",
                             item="red channel (I in format 1)",
                             message=f"{path}: red channel (I in format 1): expected part labels 0..{NUM_FINE_PARTS}, "
                                     f"got values up to {labels_max}; not a format-1 IUV image, regenerate the folder")
    return iuv_png_bytes(np.ascontiguousarray(raw[..., ::-1]))


def migrate(root: str | os.PathLike, progress: bool = True) -> str:
    """Migrate the DensePose-Synth folder `root` to the current format. Returns what was done, for the CLI.

    Raises:
        FileNotFoundError: `root` has no synth_config.json (not a DensePose-Synth folder, or one assembled by hand).
        UserInputError: a version this code cannot migrate, or an IUV image that is not of format 1.
    """
    root = Path(root)
    version = folder_format_version(root)
    if version is None:
        raise FileNotFoundError(f"{root / CONFIG_FILE}: not found; expected a folder written by "
                                "`python -m densepose_ext.synth`, which records its format version there")
    dense, staging = root / DENSE_DIR, root / STAGING_DIR
    if version == FORMAT_VERSION:
        if staging.is_dir():  # a run stopped after the commit point: every converted file had moved
            shutil.rmtree(staging)
        return f"{root}: format {FORMAT_VERSION}, nothing to migrate"
    if version != 1:
        raise UserInputError(root / CONFIG_FILE, f"1 (to migrate) or {FORMAT_VERSION}", str(version),
                             item="field 'format_version'")
    staging.mkdir(exist_ok=True)
    remove_stale_temporaries(staging)
    marker = staging / COMPLETE_MARKER
    if not marker.is_file():
        # Phase 1: nothing in dense/ has moved yet, so every file there is of format 1.
        todo = [p for p in sorted(dense.glob(IUV_GLOB)) if not (staging / p.name).is_file()]
        for path in tqdm(todo, desc="convert", unit="img", disable=not progress):
            atomic_write_bytes(staging / path.name, convert_format1_iuv(path))
        atomic_write_bytes(marker, b"")
    # Phase 2: a file still in staging/ is converted but not yet moved over its original.
    for path in tqdm(sorted(staging.glob(IUV_GLOB)), desc="replace", unit="img", disable=not progress):
        os.replace(path, dense / path.name)
    annotations = root / "annotations.json"
    if annotations.is_file():  # merge() writes it compact, its version a string
        coco = json.loads(annotations.read_text())
        coco.setdefault("info", {})["version"] = str(FORMAT_VERSION)
        atomic_write_bytes(annotations, json.dumps(coco).encode())
    config = json.loads((root / CONFIG_FILE).read_text())
    config["format_version"] = FORMAT_VERSION
    atomic_write_bytes(root / CONFIG_FILE, json.dumps(config, indent=1).encode())  # the commit point
    shutil.rmtree(staging)
    return f"{root}: migrated to format {FORMAT_VERSION} ({DENSE_DIR}/{IUV_GLOB}: B = I, G = U*255, R = V*255)"


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m densepose_ext.synth migrate",
        description="Rewrite a DensePose-Synth folder of format 1 (IUV images R = I) as format 2 (B = I), in place.")
    parser.add_argument("dir", help="DensePose-Synth folder (the one holding synth_config.json)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    print(migrate(args.dir, progress=not args.no_progress))
