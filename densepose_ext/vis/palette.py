"""Colours used by the visualizers: one colour per fine part and a colour map for chart coordinates.

All colours are BGR uint8 (OpenCV order), because every visualizer draws on OpenCV BGR images.
"""
from __future__ import annotations

import colorsys
from functools import lru_cache

import cv2
import numpy as np

from densepose_ext.surface.parts import FINE_TO_COARSE, NUM_COARSE_PARTS, NUM_FINE_PARTS

# Parts are coloured by body region: each coarse part (torso, each hand, foot, limb segment, head)
# gets its own hue, and the two fine halves of a region (front/back, or the two head halves) a
# bright and a dark shade of it, so a picture reads as regions first and halves second. Hue steps of
# _HUE_STRIDE / NUM_COARSE_PARTS of the wheel put regions with consecutive numbers (often left/right
# twins) far apart in hue.
_HUE_STRIDE = 5  # coprime with NUM_COARSE_PARTS, so every region gets a distinct hue
_SHADES = ((0.85, 0.95), (0.9, 0.6))  # (saturation, value) of the first and second half

# Chart coordinates U, V in [0, 1] are shown with a perceptually ordered map so equal steps of U look
# like equal steps of colour.
UV_COLORMAP = cv2.COLORMAP_VIRIDIS


@lru_cache(maxsize=1)
def part_colors() -> np.ndarray:
    """Colour table of the fine parts.

    Returns:
        (NUM_FINE_PARTS + 1, 3) uint8 BGR; row 0 (background) is black, row i is the colour of part i:
        the hue of its coarse region, bright for the region's first fine part, dark for the second.
        The array is read-only because it is cached and shared.
    """
    colors = np.zeros((NUM_FINE_PARTS + 1, 3), dtype=np.uint8)
    for part in range(1, NUM_FINE_PARTS + 1):
        region = int(FINE_TO_COARSE[part])
        half = int(np.count_nonzero(FINE_TO_COARSE[1:part] == region))  # 0 or 1
        hue = ((region - 1) * _HUE_STRIDE % NUM_COARSE_PARTS) / NUM_COARSE_PARTS
        r, g, b = colorsys.hsv_to_rgb(hue, *_SHADES[half])
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
