"""Where a CLI may write: refuse an output location that would change or lose a file the user has."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from densepose_ext.utils.cli_errors import UserInputError


def regular_file_above(path: str | Path) -> Optional[Path]:
    """The first existing regular file among the folders `path` would be created in, if any."""
    for parent in Path(path).absolute().parents:
        if parent.is_file():
            return parent
    return None


def check_output_folder(path: str | Path, option: str) -> None:
    """Raise UserInputError naming `option` (e.g. "--out") when the folder `path` cannot be created or used without
    touching a user's file: it lies under a regular file, or is itself an existing regular file."""
    blocker = regular_file_above(path)
    if blocker is not None:
        raise UserInputError(option, "a location inside folders", f"{str(path)!r}, under the regular file "
                                                                  f"{str(blocker)!r}")
    if Path(path).exists() and not Path(path).is_dir():
        raise UserInputError(option, "a folder (created if missing)", f"the existing file {str(path)!r}")
