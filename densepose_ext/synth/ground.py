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
    """Per pixel centre (image px), the world point (H,W,2) X, Y metres where its ray meets Z = 0, and the
    ray length to it (H,W) in metres (inf for rays that do not descend)."""
    height, width = camera.size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    rays_cam = np.stack([(xs - camera.principal[0]) / camera.focal[0],
                         (ys - camera.principal[1]) / camera.focal[1], np.ones_like(xs)], -1)
    rays = rays_cam @ camera.rotation               # (R^T d) for each pixel, world axes
    centre = -camera.rotation.T @ camera.translation
    down = rays[..., 2] < -1e-9
    s = np.where(down, -centre[2] / np.where(down, rays[..., 2], -1.0), np.inf)
    hit = centre[:2] + rays[..., :2] * np.where(down, s, 0.0)[..., None]
    return hit, s * np.linalg.norm(rays, axis=-1)


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
    c, s = np.cos(angle), np.sin(angle)
    th, tw = texture.shape[:2]
    map_x = ((c * hit[..., 0] - s * hit[..., 1]) / tile_m * tw).astype(np.float32)
    map_y = ((s * hit[..., 0] + c * hit[..., 1]) / tile_m * th).astype(np.float32)
    floor = cv2.remap(texture, map_x % tw, map_y % th, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    alpha = np.clip((max_dist - dist) / (0.6 * max_dist), 0.0, 1.0).astype(np.float32)[..., None]
    rgb *= 1.0 - alpha
    rgb += alpha * (floor * tint)
