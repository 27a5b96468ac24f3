"""Pictures of the body surface: front/back views coloured by part, U and V; the 24 charts.

Rendering is a vectorised point splat: the surface is sampled densely (deterministic), points are
projected orthographically and the nearest point wins each pixel (z-buffer by sorting). Lambert shading
from the face normal adds depth cues. Used by ``python -m densepose_ext.surface pictures``.

Frames: surface (rest pose metres, +z up, body facing -y) -> image px (x right, y down).
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .body_surface import BodySurface
from .parts import FINE_PART_NAMES, NUM_FINE_PARTS

PIXELS_PER_METRE = 260
SAMPLES_PER_PIXEL = 6.0


def part_palette() -> np.ndarray:
    """(25, 3) uint8 colour per fine label (0 = background black); distinct hues, deterministic."""
    hues = (np.arange(NUM_FINE_PARTS) * 0.381966) % 1.0  # golden-ratio hue steps
    sat = np.where(np.arange(NUM_FINE_PARTS) % 2 == 0, 0.85, 0.55)
    rgb = _hsv_to_rgb(hues, sat, np.full(NUM_FINE_PARTS, 0.95))
    return np.concatenate([np.zeros((1, 3), np.uint8), (rgb * 255).astype(np.uint8)])


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    k = (np.array([5.0, 3.0, 1.0])[None] + h[:, None] * 6.0) % 6.0
    return v[:, None] - v[:, None] * s[:, None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _colormap(x: np.ndarray) -> np.ndarray:
    """(N,) in [0, 1] -> (N, 3) float in [0, 1]: blue -> cyan -> yellow -> red."""
    stops = np.array([[0.1, 0.1, 0.8], [0.0, 0.8, 0.9], [0.95, 0.9, 0.1], [0.85, 0.1, 0.1]])
    pos = np.clip(x, 0.0, 1.0) * (len(stops) - 1)
    lo = np.minimum(pos.astype(np.int64), len(stops) - 2)
    t = (pos - lo)[:, None]
    return stops[lo] * (1.0 - t) + stops[lo + 1] * t


def sample_surface(surface: BodySurface, spacing: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """About one point per spacing^2 of area, stratified per face: face (N,), bary (N, 3)."""
    tri = surface.vertices[surface.faces].astype(np.float64)
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    count = np.ceil(area / spacing ** 2).astype(np.int64)
    face = np.repeat(np.arange(len(area)), count)
    bary = np.random.default_rng(seed).dirichlet(np.ones(3), size=len(face))
    return face, bary


def render_view(surface: BodySurface, face: np.ndarray, bary: np.ndarray, colors: np.ndarray,
                back: bool, size: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 orthographic view from the front (-y) or back (+y) of points (face, bary) with
    (N, 3) float colours in [0, 1]; white background."""
    xyz = surface.surface_to_xyz(face, bary)
    tri = surface.vertices[surface.faces[face]].astype(np.float64)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    view = np.array([0.0, 1.0, 0.0]) if back else np.array([0.0, -1.0, 0.0])
    shade = 0.45 + 0.55 * np.clip(normal @ view, 0.0, 1.0)
    h, w = size
    x = -xyz[:, 0] if back else xyz[:, 0]
    px = np.floor(w / 2 + x * PIXELS_PER_METRE).astype(np.int64)
    py = np.floor(h / 2 - (xyz[:, 2] - 0.05) * PIXELS_PER_METRE).astype(np.int64)
    depth = xyz[:, 1] if not back else -xyz[:, 1]
    ok = (px >= 0) & (px < w) & (py >= 0) & (py < h)
    pix = (py * w + px)[ok]
    order = np.lexsort((depth[ok], pix))  # nearest first within each pixel
    first = np.concatenate([[True], pix[order][1:] != pix[order][:-1]])
    keep = np.where(ok)[0][order[first]]
    img = np.ones((h * w, 3))
    img[pix[order[first]]] = colors[keep] * shade[keep, None]
    return (img.reshape(h, w, 3) * 255).astype(np.uint8)


def body_picture(surface: BodySurface) -> Image.Image:
    """3 x 2 panels: rows = part, U, V; columns = front, back."""
    size = (470, 300)
    face, bary = sample_surface(surface, spacing=1.0 / (PIXELS_PER_METRE * np.sqrt(SAMPLES_PER_PIXEL)))
    i, u, v = surface.surface_to_iuv(face, bary)
    rows = [part_palette()[i] / 255.0, _colormap(u), _colormap(v)]
    panels = [[render_view(surface, face, bary, c, back, size) for back in (False, True)] for c in rows]
    img = Image.fromarray(np.concatenate([np.concatenate(r, axis=1) for r in panels], axis=0))
    draw = ImageDraw.Draw(img)
    for r, title in enumerate(("part I", "U", "V")):
        for c, side in enumerate(("front", "back")):
            draw.text((c * size[1] + 6, r * size[0] + 4), f"{title} - {side}", fill=(0, 0, 0))
    return img


def charts_picture(surface: BodySurface, cell: int = 128) -> Image.Image:
    """The 24 charts (6 x 4 grid of [0, 1]^2 squares, V up), each chart pixel coloured by the 3D rest-pose
    position (x, y, z normalised to RGB) of the surface point that (I, U, V) names; white outside the
    chart's boundary. Continuous colours show a continuous chart; every pixel goes through iuv_to_surface."""
    cols = 6
    centres = (np.arange(cell) + 0.5) / cell
    part, v, u = np.meshgrid(np.arange(1, NUM_FINE_PARTS + 1), centres[::-1], centres, indexing="ij")
    face, bary = surface.iuv_to_surface(part.ravel(), u.ravel(), v.ravel())
    _, u2, v2 = surface.surface_to_iuv(face, bary)
    inside = np.hypot(u2 - u.ravel(), v2 - v.ravel()) < 0.5 / cell
    xyz = surface.surface_to_xyz(face, bary)
    lo, hi = surface.vertices.min(axis=0), surface.vertices.max(axis=0)
    color = np.where(inside[:, None], (xyz - lo) / (hi - lo) * 255, 255).astype(np.uint8)
    tiles = color.reshape(NUM_FINE_PARTS, cell, cell, 3)
    tiles = np.pad(tiles, ((0, 0), (14, 2), (4, 4), (0, 0)), constant_values=255)
    th, tw = tiles.shape[1:3]
    grid = tiles.reshape(NUM_FINE_PARTS // cols, cols, th, tw, 3).transpose(0, 2, 1, 3, 4)
    out = Image.fromarray(np.ascontiguousarray(grid.reshape(NUM_FINE_PARTS // cols * th, cols * tw, 3)))
    draw = ImageDraw.Draw(out)
    for p in range(1, NUM_FINE_PARTS + 1):
        r, c = (p - 1) // cols, (p - 1) % cols
        draw.text((c * tw + 4, r * th + 1), f"{p} {FINE_PART_NAMES[p]}"[:22], fill=(0, 0, 0))
    return out
