"""A textured ground plane (world Z = 0, where people stand) seen through the scene camera.

Painted into the RGB image only (it is background for the dense truth): each pixel's viewing ray is
intersected with the plane and the hit point (metres) indexes a tiled texture photo; the floor fades into
the background towards the horizon, where the texture would alias.
"""
from __future__ import annotations

import cv2
import numpy as np

from densepose_ext.synth.backgrounds import load_photo
from densepose_ext.synth.camera import Camera

GROUND_IMAGE_SHARE = 0.5
GROUND_TEXTURES: tuple[str, ...] = ("brick", "grass", "gravel", "moon", "coins")


def ground_hits(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel centre (image px), the world point (H,W,2) X, Y metres (float32) where its ray meets Z = 0,
    and the ray length to it (H,W) in metres (inf for rays that do not descend)."""
    height, width = camera.size
    xn = ((np.arange(width) + 0.5 - camera.principal[0]) / camera.focal[0]).astype(np.float32)[None, :]
    yn = ((np.arange(height) + 0.5 - camera.principal[1]) / camera.focal[1]).astype(np.float32)[:, None]
    r = camera.rotation.astype(np.float32)
    # world ray of pixel (x, y) = R^T (xn, yn, 1): separable in rows and columns
    rays = [r[0, k] * xn + r[1, k] * yn + r[2, k] for k in range(3)]
    centre = (-camera.rotation.T @ camera.translation).astype(np.float32)
    down = rays[2] < -1e-9
    s = np.where(down, -centre[2] / np.where(down, rays[2], np.float32(-1.0)), np.float32(np.inf))
    s_hit = np.where(down, s, np.float32(0.0))
    hit = np.stack([centre[0] + rays[0] * s_hit, centre[1] + rays[1] * s_hit], -1)
    return hit, s * np.sqrt(rays[0] ** 2 + rays[1] ** 2 + rays[2] ** 2)


def paint_ground(rng: np.random.Generator, camera: Camera, rgb: np.ndarray) -> None:
    """With probability GROUND_IMAGE_SHARE, paint a floor into rgb (H,W,3) float32 in place: a random
    texture at 0.3-1.5 m per tile, faded out between 40 % and 100 % of a random 8-30 m range."""
    if rng.random() >= GROUND_IMAGE_SHARE:
        return
    texture = load_photo(GROUND_TEXTURES[rng.integers(len(GROUND_TEXTURES))])
    tile_m = rng.uniform(0.3, 1.5)
    tint = rng.uniform(0.6, 1.1, size=3).astype(np.float32) / np.float32(255.0)
    max_dist = rng.uniform(8.0, 30.0)
    angle = rng.uniform(0.0, np.pi)
    hit, dist = ground_hits(camera)
    alpha = np.clip((max_dist - dist) / np.float32(0.6 * max_dist), 0.0, 1.0)
    rows = np.flatnonzero(alpha.any(1))
    if not len(rows):
        return
    top = rows[0]  # the floor lies below the horizon: only those rows are textured
    hit, alpha = hit[top:], alpha[top:, :, None]
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    th, tw = texture.shape[:2]
    map_x = (c * hit[..., 0] - s * hit[..., 1]) * np.float32(tw / tile_m)
    map_y = (s * hit[..., 0] + c * hit[..., 1]) * np.float32(th / tile_m)
    floor = cv2.remap(texture, map_x % tw, map_y % th, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    below = rgb[top:]
    below *= 1.0 - alpha
    below += alpha * (floor * tint)
