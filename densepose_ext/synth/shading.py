"""Appearance of rendered people: clothing-like colour regions, chart-space patterns and Lambert shading.

Colours are computed per pixel from the id buffers (part label, chart U/V, interpolated normal) and
never feed back into them, so blurring the RGB image later cannot corrupt the dense truth.
Colours are float32 RGB in [0,1]; normals are unit vectors in world axes.
"""
from __future__ import annotations

import colorsys
import dataclasses
import functools

import numpy as np

from densepose_ext.surface.parts import COARSE_PART_NAMES, FINE_TO_COARSE, NUM_FINE_PARTS


@functools.lru_cache(maxsize=None)
def _fine_parts_of(region: str) -> np.ndarray:
    """Fine labels (1..24) whose coarse part name contains `region` (e.g. "upper_arm")."""
    coarse = [c for c, name in enumerate(COARSE_PART_NAMES) if c > 0 and region in name]
    return np.flatnonzero(np.isin(FINE_TO_COARSE, coarse))


@dataclasses.dataclass(frozen=True)
class Appearance:
    """part_albedo (25,3): base colour per fine label (row 0 unused); hair (3,) colour of the hair faces, or
    None (bald); stripe_parts (25,) bool: parts carrying a stripe pattern of `stripe_freq` periods per chart
    unit along U (stripe_axis 0) or V (1)."""

    part_albedo: np.ndarray
    hair: np.ndarray | None
    stripe_parts: np.ndarray
    stripe_freq: float
    stripe_axis: int
    stripe_contrast: float


def _random_colour(rng: np.random.Generator, sat: tuple[float, float], val: tuple[float, float]) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(rng.random(), rng.uniform(*sat), rng.uniform(*val)), dtype=np.float32)


def sample_appearance(rng: np.random.Generator) -> Appearance:
    """Skin tone, hair, top (short/long sleeves), bottom (shorts/trousers), shoes; optional striped top."""
    t = rng.random()
    skin = np.array([0.95, 0.78, 0.66]) * (1 - t) + np.array([0.36, 0.23, 0.16]) * t
    albedo = np.tile(skin.astype(np.float32), (NUM_FINE_PARTS + 1, 1))
    top = _random_colour(rng, (0.1, 0.9), (0.15, 0.95))
    bottom = _random_colour(rng, (0.1, 0.7), (0.1, 0.8))
    top_regions = ["torso"] + [["upper_arm"], [], ["upper_arm", "lower_arm"]][rng.integers(3)]
    bottom_regions = ["upper_leg"] + (["lower_leg"] if rng.random() < 0.7 else [])
    for region in top_regions:
        albedo[_fine_parts_of(region)] = top
    for region in bottom_regions:
        albedo[_fine_parts_of(region)] = bottom
    albedo[_fine_parts_of("foot")] = _random_colour(rng, (0.0, 0.5), (0.05, 0.6))
    stripes = np.zeros(NUM_FINE_PARTS + 1, dtype=bool)
    if rng.random() < 0.35:
        stripes[_fine_parts_of("torso")] = True
    hair = _random_colour(rng, (0.2, 0.8), (0.05, 0.7)) if rng.random() < 0.85 else None
    return Appearance(part_albedo=albedo, hair=hair, stripe_parts=stripes, stripe_freq=float(rng.uniform(3, 12)),
                      stripe_axis=int(rng.integers(2)), stripe_contrast=float(rng.uniform(0.2, 0.5)))


def hair_faces(rest_vertices: np.ndarray, faces: np.ndarray, face_part: np.ndarray) -> np.ndarray:
    """(F,) bool: head faces covered by hair, from the rest-pose geometry (metres, Z up, body facing -Y):
    the top of the head, and the back of the head down to about ear level."""
    centre = rest_vertices[faces].mean(1)
    head = np.isin(face_part, _fine_parts_of("head"))
    if not head.any():
        return head
    top = centre[head, 2].max()
    back = centre[:, 1] > np.median(centre[head, 1]) + 0.02
    return head & ((centre[:, 2] > top - 0.08) | (back & (centre[:, 2] > top - 0.2)))


def albedo(appearance: Appearance, part: np.ndarray, uv: np.ndarray, hair: np.ndarray) -> np.ndarray:
    """(N,3) base colours of N pixels of one person: part (N,) fine labels 1..24, uv (N,2) chart coords,
    hair (N,) bool pixels on hair faces."""
    colour = appearance.part_albedo[part]
    if appearance.hair is not None:
        colour[hair] = appearance.hair
    striped = appearance.stripe_parts[part]
    if striped.any():
        phase = np.sin(2 * np.pi * appearance.stripe_freq * uv[striped, appearance.stripe_axis])
        colour[striped] *= (1.0 + appearance.stripe_contrast * np.sign(phase))[:, None]
    return colour


def lambert(colour: np.ndarray, normals: np.ndarray, light: np.ndarray, ambient: float) -> np.ndarray:
    """(N,3) shaded colours: colour * (ambient + (1 - ambient) * max(0, n.l)); normals (N,3), light (3,) unit,
    both world axes, normals pointing out of the body."""
    diffuse = np.maximum(normals @ light, 0.0)
    return colour * (ambient + (1.0 - ambient) * diffuse)[:, None]
