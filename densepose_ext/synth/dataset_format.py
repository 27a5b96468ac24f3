"""The version of a DensePose-Synth folder's format and where its dense truth lies (docs/FORMAT_synth.md).

Format 2 writes ``dense/<stem>_IUV.png`` in the reference's layout (B = I, G = U*255, R = V*255,
vis/iuv_image.py); format 1 wrote R = I. A folder records its version in ``synth_config.json``
(``format_version``, written when generation starts), so a reader can refuse a format-1 folder even where its
pixels could pass for either layout; ``python -m densepose_ext.synth migrate DIR`` (migrate.py) rewrites it.

Its U/V are chart coordinates of the anny body surface (SYNTH_SURFACE): generation renders on it, and the
dataset registration (data/datasets.py) records it as the surface training and evaluation must use.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from densepose_ext.surface.source import SurfaceSource
from densepose_ext.utils.cli_errors import UserInputError

FORMAT_VERSION = 2
SYNTH_SURFACE = SurfaceSource("anny")  # the body surface DensePose-Synth is rendered on
CONFIG_FILE = "synth_config.json"
DENSE_DIR = "dense"


class SynthFormatError(UserInputError):
    """A DensePose-Synth folder of another format version than this code reads (its synth_config.json is the
    source, its field 'format_version' the item)."""

    def __init__(self, path: str | os.PathLike, expected: str, found: str):
        super().__init__(str(path), expected, found, item="field 'format_version'")

    def __reduce__(self):
        return type(self), (self.source, self.expected, self.found)


def dense_paths(root: str | os.PathLike, stem: str) -> tuple[Path, Path]:
    """(IUV, INDS) PNG paths of image `stem` of the folder `root`."""
    dense = Path(root) / DENSE_DIR
    return dense / f"{stem}_IUV.png", dense / f"{stem}_INDS.png"


def folder_format_version(root: str | os.PathLike) -> Optional[int]:
    """The ``format_version`` in `root`/synth_config.json, or None when the folder has no such file (a folder
    assembled by hand: its IUV images are then only checked by their pixels, vis/iuv_image.read_iuv_png)."""
    path = Path(root) / CONFIG_FILE
    if not path.is_file():
        return None
    version = json.loads(path.read_text()).get("format_version")
    if not isinstance(version, int):
        raise SynthFormatError(path, "an integer", repr(version))
    return version


def check_dense_format(root: str | os.PathLike) -> None:
    """Raise SynthFormatError unless `root` is a folder of the current format (or records no version)."""
    version = folder_format_version(root)
    if version is None or version == FORMAT_VERSION:
        return
    if version < FORMAT_VERSION:
        raise SynthFormatError(
            Path(root) / CONFIG_FILE, str(FORMAT_VERSION),
            f"{version}: its {DENSE_DIR}/*_IUV.png have R = I, not the reference's B = I; run "
            f"`python -m densepose_ext.synth migrate {root}` (rewrites them in place) or regenerate the folder")
    raise SynthFormatError(Path(root) / CONFIG_FILE, str(FORMAT_VERSION),
                           f"{version}, written by a newer densepose_ext; update it")
