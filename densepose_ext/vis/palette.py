"""Colours used by the visualizers: one colour per fine part and a colour map for chart coordinates.

All colours are BGR uint8 (OpenCV order), because every visualizer draws on OpenCV BGR images.
"""
from __future__ import annotations

import colorsys
from functools import lru_cache

import cv2
import numpy as np

from densepose_ext.surface.parts import NUM_FINE_PARTS

# Golden-ratio hue steps keep consecutive labels (front/back halves, left/right pairs, which are
# numbered next to each other) far apart on the colour wheel; alternating value keeps neighbours
# distinguishable even for viewers with reduced colour vision.
_GOLDEN_RATIO = 0.6180339887498949

# Chart coordinates U, V in [0, 1] are shown with a perceptually ordered map so equal steps of U look
# like equal steps of colour.
UV_COLORMAP = cv2.COLORMAP_VIRIDIS


@lru_cache(maxsize=1)
def part_colors() -> np.ndarray:
    """Colour table of the fine parts.

    Returns:
        (NUM_FINE_PARTS + 1, 3) uint8 BGR; row 0 (background) is black, row i is the colour of part i.
        The array is read-only because it is cached and shared.
    """
    colors = np.zeros((NUM_FINE_PARTS + 1, 3), dtype=np.uint8)
    for part in range(1, NUM_FINE_PARTS + 1):
        hue = (part * _GOLDEN_RATIO) % 1.0
        value = 0.95 if part % 2 else 0.75
        r, g, b = colorsys.hsv_to_rgb(hue, 0.8, value)
        colors[part] = np.round(np.array([b, g, r]) * 255).astype(np.uint8)
    colors.setflags(write=False)
    return colors


def colorize_unit_interval(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (e.g. a U or V chart map) to BGR colours of UV_COLORMAP.

    Args:
        values: (H, W) float array in [0, 1]; values outside are clipped.
    Returns:
        (H, W, 3) uint8 BGR.
    """
    levels = np.round(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8)
    return cv2.applyColorMap(levels, UV_COLORMAP)
