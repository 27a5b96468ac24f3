"""Reading a JSON file the user gave, with errors that say what is wrong with it: a binary file, a file cut short,
a syntax error (line and column)."""
from __future__ import annotations

import json
from typing import Any

from densepose_ext.utils.cli_errors import UserInputError


def read_json(path: str, expected: str) -> Any:
    """The parsed content of the JSON file `path`, which should hold `expected` (e.g. "a JSON list of detection
    records"). Raises UserInputError naming the file for a binary (non-UTF-8) file, an empty or truncated one and a
    syntax error; OSError (missing file, a folder) as open() raises it."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserInputError(path, expected, f"binary data (byte 0x{data[e.start]:02x} at offset {e.start} is not "
                                             "UTF-8 text)") from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if not text.strip():
            found = "an empty file"
        elif e.pos >= len(text.rstrip()) or e.msg.startswith("Unterminated string"):  # the end came too soon
            found = f"a file that ends in the middle of its JSON (line {e.lineno}: {e.msg}): cut short?"
        else:
            found = f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}"
        raise UserInputError(path, expected, found) from e
