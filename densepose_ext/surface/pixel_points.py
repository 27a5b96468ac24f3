"""IUV image -> body surface: every foreground pixel as a surface point (face + barycentric) and a 3D point.

    from densepose_ext.surface import get_surface
    from densepose_ext.surface.pixel_points import pixel_surface_points
    points = pixel_surface_points(labels, uv, get_surface())     # labels (H, W), uv (2, H, W)
    points.xy, points.face, points.bary, points.xyz                # (N, 2), (N,), (N, 3), (N, 3)

Input is a full-image IUV map in the image px frame (vis/iuv_image.py `FullImageIUV`, `composite_iuv` of a
prediction; or a DensePose-Synth rendering's truth), so one call maps all people of an image; `inds` of a
FullImageIUV says which person each point belongs to (`points.pixel` indexes it). Vectorised: one chart lookup
(`BodySurface.iuv_to_surface`) for all pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body_surface import BodySurface
from .parts import NUM_FINE_PARTS


@dataclass(frozen=True)
class PixelSurfacePoints:
    """Surface points of the N foreground pixels of an IUV map, in row-major pixel order.

    pixel: (N, 2) int64 (row, column) of each pixel. xy: (N, 2) float64 image px of its centre (column + 0.5,
    row + 0.5). face: (N,) int64 triangle of the surface; bary: (N, 3) float64 barycentrics (>= 0, sum 1),
    surface frame. xyz: (N, 3) float64 the point on the surface's rest mesh, metres (BodySurface frame).
    """

    pixel: np.ndarray
    xy: np.ndarray
    face: np.ndarray
    bary: np.ndarray
    xyz: np.ndarray

    def __len__(self) -> int:
        return len(self.face)


def pixel_surface_points(labels: np.ndarray, uv: np.ndarray, surface: BodySurface) -> PixelSurfacePoints:
    """Map each pixel with label I > 0 and chart (U, V) to its surface point.

    Args:
        labels: (H, W) int fine part labels 0..24 (0 = background), image px frame.
        uv: (2, H, W) float chart coordinates U then V in [0, 1] (clipped by the chart lookup).
        surface: the body surface the U/V are on (the dataset's or the model's training surface).
    Raises:
        ValueError naming the array when shapes or labels are wrong.
    """
    labels = np.asarray(labels)
    uv = np.asarray(uv)
    if labels.ndim != 2:
        raise ValueError(f"labels: expected an (H, W) array, got shape {labels.shape}")
    if uv.shape != (2, *labels.shape):
        raise ValueError(f"uv: expected shape {(2, *labels.shape)} (U, V over the labels' grid), got {uv.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > NUM_FINE_PARTS):
        raise ValueError(f"labels: expected values 0..{NUM_FINE_PARTS}, got {labels.min()}..{labels.max()}")
    rows, cols = np.nonzero(labels)
    face, bary = surface.iuv_to_surface(labels[rows, cols], uv[0, rows, cols], uv[1, rows, cols])
    return PixelSurfacePoints(
        pixel=np.stack([rows, cols], axis=1).astype(np.int64),
        xy=np.stack([cols + 0.5, rows + 0.5], axis=1).astype(np.float64),
        face=face,
        bary=bary,
        xyz=surface.surface_to_xyz(face, bary) if len(face) else np.zeros((0, 3)),
    )
