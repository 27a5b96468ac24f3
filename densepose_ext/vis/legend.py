"""Legend panels: small BGR images explaining a visualizer's colours, stacked beside the picture."""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from densepose_ext.vis.palette import colorize_unit_interval

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_FONT_SCALE = 0.4
_ROW = 16  # pixels per legend row
_WIDTH = 220  # pixels, wide enough for the longest fine part name
_BACKGROUND = (40, 40, 40)
_TEXT = (255, 255, 255)


def _blank(rows: int) -> np.ndarray:
    panel = np.empty((rows * _ROW + _ROW // 2, _WIDTH, 3), np.uint8)
    panel[:] = _BACKGROUND
    return panel


def _text(panel: np.ndarray, row: int, x: int, text: str) -> None:
    cv2.putText(panel, text, (x, (row + 1) * _ROW - 4), _FONT, _FONT_SCALE, _TEXT, 1, cv2.LINE_AA)


def swatch_panel(title: str, entries: Sequence[tuple[Sequence[int], str]]) -> np.ndarray:
    """A titled list of (BGR colour, text) rows, each with a filled square of the colour.

    Returns:
        (h, _WIDTH, 3) uint8 BGR panel.
    """
    panel = _blank(len(entries) + 1)
    _text(panel, 0, 4, title)
    for row, (color, text) in enumerate(entries, start=1):
        top = row * _ROW + 2
        cv2.rectangle(panel, (4, top), (4 + _ROW - 5, top + _ROW - 5), tuple(int(c) for c in color), -1)
        _text(panel, row, 4 + _ROW + 2, text)
    return panel


def colorbar_panel(title: str) -> np.ndarray:
    """A titled horizontal colour bar of palette.UV_COLORMAP from 0 (left) to 1 (right).

    Returns:
        (h, _WIDTH, 3) uint8 BGR panel.
    """
    panel = _blank(3)
    _text(panel, 0, 4, title)
    bar_width = _WIDTH - 8
    ramp = np.tile(np.linspace(0.0, 1.0, bar_width, dtype=np.float32), (_ROW - 4, 1))
    panel[_ROW + 2:2 * _ROW - 2, 4:4 + bar_width] = colorize_unit_interval(ramp)
    _text(panel, 2, 4, "0")
    _text(panel, 2, _WIDTH - 16, "1")
    return panel


def attach_legend(image: np.ndarray, panels: Sequence[np.ndarray]) -> np.ndarray:
    """Place the panels, stacked top to bottom, to the right of the image.

    Args:
        image: (H, W, 3) uint8 BGR.
        panels: legend panels of width _WIDTH; none gives back the image unchanged.
    Returns:
        (max(H, total panel height), W + _WIDTH, 3) uint8 BGR; the image keeps its pixels at the top-left.
    """
    if not panels:
        return image
    legend = np.concatenate(panels, axis=0)
    height = max(image.shape[0], legend.shape[0])
    out = np.empty((height, image.shape[1] + _WIDTH, 3), np.uint8)
    out[:] = _BACKGROUND
    out[: image.shape[0], : image.shape[1]] = image
    out[: legend.shape[0], image.shape[1]:] = legend
    return out
