"""Texture transfer through the charts: paint a person from a 24-part texture atlas, and extract an atlas back.

Atlas layout (the reference's, from the DensePose paper's texture-transfer notebook): one (1200, 800, 3) image of
4 columns x 6 rows of 200 x 200 tiles; part I (1..24) is tile (row (I - 1) % 6, column (I - 1) // 6). Inside a
tile, chart point (U, V) is texel (row round((1 - V) * 199), column round(U * 199)), so V grows upwards (the
reference truncates instead of rounding: at most one texel apart).
`atlas_tiles` / `tiles_to_atlas` convert between that image and a (24, 200, 200, 3) stack.

`paint_texture` colours every foreground pixel of an IUV map with its texel (nearest); `extract_texture` is its
inverse: the mean colour of the pixels that land on each texel, and which texels were seen. Painting an atlas and
extracting it again returns the atlas exactly on the seen texels (tests/surface/test_texture.py).
`labelled_part_atlas` is the bundled atlas the project generates (apply_net's `dp_texture` visualizer): one hue
per part with a U/V checkerboard, so orientation and stretch show.
"""
from __future__ import annotations

import colorsys

import numpy as np

from .parts import NUM_FINE_PARTS

TILE = 200
ATLAS_ROWS, ATLAS_COLUMNS = 6, 4  # tiles: part I in row (I - 1) % 6, column (I - 1) // 6
ATLAS_SHAPE = (ATLAS_ROWS * TILE, ATLAS_COLUMNS * TILE, 3)


def atlas_tiles(atlas: np.ndarray) -> np.ndarray:
    """(1200, 800, C) atlas image -> (24, 200, 200, C) tiles, tile I - 1 of part I."""
    if atlas.shape[:2] != ATLAS_SHAPE[:2] or atlas.ndim != 3:
        raise ValueError(f"texture atlas: expected shape {ATLAS_SHAPE[:2]} + (C,) (4 x 6 tiles of {TILE} px), "
                         f"got {atlas.shape}")
    grid = atlas.reshape(ATLAS_ROWS, TILE, ATLAS_COLUMNS, TILE, -1)  # [row, y, column, x, c]
    return grid.transpose(2, 0, 1, 3, 4).reshape(NUM_FINE_PARTS, TILE, TILE, -1)


def tiles_to_atlas(tiles: np.ndarray) -> np.ndarray:
    """(24, 200, 200, C) tiles -> (1200, 800, C) atlas image (inverse of `atlas_tiles`)."""
    if tiles.shape[:3] != (NUM_FINE_PARTS, TILE, TILE):
        raise ValueError(f"texture tiles: expected shape ({NUM_FINE_PARTS}, {TILE}, {TILE}, C), got {tiles.shape}")
    grid = tiles.reshape(ATLAS_COLUMNS, ATLAS_ROWS, TILE, TILE, -1)  # [column, row, y, x, c]
    return grid.transpose(1, 2, 0, 3, 4).reshape(ATLAS_ROWS * TILE, ATLAS_COLUMNS * TILE, -1)


def texel_index(labels: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N,) labels 1..24 and chart U, V -> (tile, texel row, texel column) (N,) int64 of the atlas layout."""
    u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
    v = np.clip(np.asarray(v, dtype=np.float64), 0.0, 1.0)
    return (np.asarray(labels, dtype=np.int64) - 1, np.rint((1.0 - v) * (TILE - 1)).astype(np.int64),
            np.rint(u * (TILE - 1)).astype(np.int64))


def _foreground(labels: np.ndarray, uv: np.ndarray, image_shape: tuple[int, ...]):
    if labels.shape != tuple(image_shape[:2]) or uv.shape != (2, *labels.shape):
        raise ValueError(f"IUV map: expected labels {tuple(image_shape[:2])} and uv (2, H, W) over the image, got "
                         f"labels {labels.shape}, uv {uv.shape}")
    rows, cols = np.nonzero(labels)
    return rows, cols, texel_index(labels[rows, cols], uv[0, rows, cols], uv[1, rows, cols])


def paint_texture(image: np.ndarray, labels: np.ndarray, uv: np.ndarray, atlas: np.ndarray) -> np.ndarray:
    """A copy of `image` (H, W, 3) whose pixels with labels > 0 take their texel of `atlas` (1200, 800, 3).

    labels (H, W) 0..24 and uv (2, H, W) form the image's IUV map (image px frame, e.g. vis/iuv_image.py)."""
    rows, cols, (tile, y, x) = _foreground(labels, uv, image.shape)
    out = image.copy()
    out[rows, cols] = atlas_tiles(atlas)[tile, y, x].astype(image.dtype)
    return out


def extract_texture(image: np.ndarray, labels: np.ndarray, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The partial atlas an image shows: (atlas (1200, 800, 3) float32, seen (1200, 800) bool).

    Each seen texel holds the mean colour of the image's foreground pixels that fall on it; unseen texels are 0."""
    rows, cols, (tile, y, x) = _foreground(labels, uv, image.shape)
    flat = (tile * TILE + y) * TILE + x
    size = NUM_FINE_PARTS * TILE * TILE
    count = np.bincount(flat, minlength=size).astype(np.float64)
    sums = np.stack([np.bincount(flat, weights=image[rows, cols, c].astype(np.float64), minlength=size)
                     for c in range(image.shape[2])], axis=1)
    mean = sums / np.maximum(count, 1.0)[:, None]
    tiles = mean.reshape(NUM_FINE_PARTS, TILE, TILE, -1).astype(np.float32)
    seen = (count > 0).reshape(NUM_FINE_PARTS, TILE, TILE, 1)
    return tiles_to_atlas(tiles), tiles_to_atlas(seen)[..., 0]


def labelled_part_atlas(squares: int = 8) -> np.ndarray:
    """(1200, 800, 3) uint8 BGR atlas: tile I in the part's own hue, a `squares` x `squares` checkerboard in U/V
    (dark and light), and a white border along U = 0 so the chart's origin shows."""
    ramp = np.arange(TILE) / (TILE - 1)
    v, u = 1.0 - ramp[:, None], ramp[None, :]  # texel row -> V (upwards), column -> U
    checker = (np.floor(u * squares).astype(int) + np.floor(v * squares).astype(int)) % 2  # (TILE, TILE)
    tiles = np.zeros((NUM_FINE_PARTS, TILE, TILE, 3), dtype=np.uint8)
    for part in range(NUM_FINE_PARTS):
        r, g, b = colorsys.hsv_to_rgb(part / NUM_FINE_PARTS, 0.8, 1.0)
        colour = np.array([b, g, r]) * 255.0
        tiles[part] = np.where(checker[..., None] == 1, colour, colour * 0.45).astype(np.uint8)
        tiles[part, :, :4] = 255
    return tiles_to_atlas(tiles)
