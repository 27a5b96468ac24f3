"""Scene backgrounds: real textures and photos shipped with scikit-image, and procedural ones.

Photos that show people (skimage's astronaut, camera) are excluded: an unannotated person in the
background would teach the detector to ignore people. All functions return (H,W,3) float32 RGB in [0,1].
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

# skimage.data loaders available offline (no pooch download); none shows a person.
PHOTO_NAMES: tuple[str, ...] = (
    "brick", "grass", "gravel", "rocket", "coffee", "chelsea", "coins", "moon", "page", "text",
    "hubble_deep_field", "immunohistochemistry", "cell", "clock", "retina",
)


@functools.lru_cache(maxsize=None)
def load_photo(name: str) -> np.ndarray:
    """(h,w,3) uint8 RGB photo, loaded once per process."""
    import skimage.data  # imported lazily: only generation needs it

    img = np.asarray(getattr(skimage.data, name)())
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def photo_background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Random crop of a random photo, resized to size = (H,W), randomly flipped and tinted."""
    height, width = size
    img = load_photo(PHOTO_NAMES[rng.integers(len(PHOTO_NAMES))])
    h, w = img.shape[:2]
    frac = rng.uniform(0.4, 1.0)
    ch, cw = max(8, int(h * frac)), max(8, int(w * frac))
    y0, x0 = rng.integers(h - ch + 1), rng.integers(w - cw + 1)
    crop = cv2.resize(img[y0:y0 + ch, x0:x0 + cw], (width, height), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    tint = rng.uniform(0.6, 1.2, size=3).astype(np.float32) / np.float32(255.0)
    return np.minimum(crop * tint, 1.0)


def _value_noise(rng: np.random.Generator, size: tuple[int, int], cells: int) -> np.ndarray:
    """(H,W) smooth noise in [0,1]: a random cells x cells grid bilinearly upsampled."""
    grid = rng.random((cells, cells), dtype=np.float32)
    return cv2.resize(grid, size[::-1], interpolation=cv2.INTER_LINEAR)


def procedural_background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Two-colour gradient with multi-scale noise and random rectangles (walls, furniture, windows)."""
    height, width = size
    c0, c1 = rng.random(3).astype(np.float32), rng.random(3).astype(np.float32)
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    noise = sum(amp * (_value_noise(rng, size, cells) - 0.5) for cells, amp in ((4, 0.25), (16, 0.12), (64, 0.06)))
    out = (c0 * (1 - ramp) + c1 * ramp) + noise[:, :, None]
    for _ in range(rng.integers(0, 8)):
        x0, y0 = rng.integers(width), rng.integers(height)
        x1, y1 = x0 + rng.integers(10, width // 2), y0 + rng.integers(10, height // 2)
        out[y0:y1, x0:x1] = out[y0:y1, x0:x1] * 0.3 + 0.7 * rng.random(3).astype(np.float32)
    return np.clip(out, 0.0, 1.0)


def sample_background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A photo background (60 %) or a procedural one, (H,W,3) float32 in [0,1]."""
    if rng.random() < 0.6:
        return photo_background(rng, size)
    return procedural_background(rng, size)
