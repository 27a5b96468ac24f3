"""Id-buffer rasteriser: per pixel the nearest triangle and its perspective-correct barycentrics.

Nothing is antialiased: every pixel centre (x + 0.5, y + 0.5 in image px) either lies in one triangle or in
none, so ids never mix. ``rasterize`` is a numba z-buffer; ``rasterize_reference`` is a slow, obviously
correct numpy version that tests compare it with.

Shapes: ``screen`` (N,3) float64 = (x image px, y image px, z camera depth in metres, > 0);
``faces`` (F,3) int64 indexing ``screen``. Output: ``face`` (H,W) int32 (-1 = empty), ``bary`` (H,W,3)
float32 perspective-correct barycentrics of the face's corners (sum 1), ``depth`` (H,W) float32 metres
(inf = empty).
"""
from __future__ import annotations

import numba
import numpy as np

# Pixels whose centre lies on an edge shared by two triangles go to exactly one of them: the top-left rule
# is approximated by a tiny bias, which keeps the result deterministic and free of cracks.
_EDGE_EPS = 1e-9


@numba.njit(cache=True, nogil=True)
def _raster_kernel(screen, faces, width, height, face_buf, bary_buf, depth_buf):
    for f in range(faces.shape[0]):
        i0, i1, i2 = faces[f, 0], faces[f, 1], faces[f, 2]
        x0, y0, z0 = screen[i0, 0], screen[i0, 1], screen[i0, 2]
        x1, y1, z1 = screen[i1, 0], screen[i1, 1], screen[i1, 2]
        x2, y2, z2 = screen[i2, 0], screen[i2, 1], screen[i2, 2]
        if z0 <= 0.0 or z1 <= 0.0 or z2 <= 0.0:
            continue  # behind the near plane: the scene sampler keeps bodies in front, so just skip
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if abs(area) < 1e-12:
            continue
        xmin = max(int(np.floor(min(x0, min(x1, x2)) - 0.5)), 0)
        xmax = min(int(np.ceil(max(x0, max(x1, x2)) - 0.5)), width - 1)
        ymin = max(int(np.floor(min(y0, min(y1, y2)) - 0.5)), 0)
        ymax = min(int(np.ceil(max(y0, max(y1, y2)) - 0.5)), height - 1)
        if xmin > xmax or ymin > ymax:
            continue
        inv_area = 1.0 / area
        iz0, iz1, iz2 = 1.0 / z0, 1.0 / z1, 1.0 / z2
        for py in range(ymin, ymax + 1):
            cy = py + 0.5
            for px in range(xmin, xmax + 1):
                cx = px + 0.5
                w0 = ((x1 - cx) * (y2 - cy) - (x2 - cx) * (y1 - cy)) * inv_area
                w1 = ((x2 - cx) * (y0 - cy) - (x0 - cx) * (y2 - cy)) * inv_area
                w2 = 1.0 - w0 - w1
                if w0 < -_EDGE_EPS or w1 < -_EDGE_EPS or w2 < -_EDGE_EPS:
                    continue
                inv_z = w0 * iz0 + w1 * iz1 + w2 * iz2
                z = 1.0 / inv_z
                if np.float32(z) < depth_buf[py, px]:
                    depth_buf[py, px] = z
                    face_buf[py, px] = f
                    b0 = w0 * iz0 * z
                    b1 = w1 * iz1 * z
                    bary_buf[py, px, 0] = b0
                    bary_buf[py, px, 1] = b1
                    bary_buf[py, px, 2] = 1.0 - b0 - b1


def _check(screen: np.ndarray, faces: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    screen = np.ascontiguousarray(screen, dtype=np.float64)
    faces = np.ascontiguousarray(faces, dtype=np.int64)
    if screen.ndim != 2 or screen.shape[1] != 3:
        raise ValueError(f"screen: expected shape (N, 3), got {screen.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces: expected shape (F, 3), got {faces.shape}")
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"size: expected positive (height, width), got {size}")
    return screen, faces


def _empty_buffers(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(face, bary, depth) buffers of an image with nothing drawn."""
    return (np.full(size, -1, dtype=np.int32), np.zeros((*size, 3), dtype=np.float32),
            np.full(size, np.inf, dtype=np.float32))


def rasterize(screen: np.ndarray, faces: np.ndarray, size: tuple[int, int]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-buffer the triangles; ``size`` = (height, width). Returns (face, bary, depth), see module doc."""
    screen, faces = _check(screen, faces, size)
    face, bary, depth = _empty_buffers(size)
    _raster_kernel(screen, faces, size[1], size[0], face, bary, depth)
    return face, bary, depth


def rasterize_reference(screen: np.ndarray, faces: np.ndarray, size: tuple[int, int]
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slow reference of :func:`rasterize`: every triangle against every pixel centre, numpy only."""
    screen, faces = _check(screen, faces, size)
    face, bary, depth = _empty_buffers(size)
    cy, cx = np.mgrid[0:size[0], 0:size[1]] + 0.5
    for f, (i0, i1, i2) in enumerate(faces):
        (x0, y0, z0), (x1, y1, z1), (x2, y2, z2) = screen[i0], screen[i1], screen[i2]
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if min(z0, z1, z2) <= 0 or abs(area) < 1e-12:
            continue
        w0 = ((x1 - cx) * (y2 - cy) - (x2 - cx) * (y1 - cy)) / area
        w1 = ((x2 - cx) * (y0 - cy) - (x0 - cx) * (y2 - cy)) / area
        w2 = 1.0 - w0 - w1
        z = 1.0 / (w0 / z0 + w1 / z1 + w2 / z2)
        inside = (w0 >= -_EDGE_EPS) & (w1 >= -_EDGE_EPS) & (w2 >= -_EDGE_EPS)
        win = inside & (z.astype(np.float32) < depth)
        depth[win] = z[win]
        face[win] = f
        b = np.stack([w0 / z0 * z, w1 / z1 * z], -1)
        bary[win, :2] = b[win]
        bary[win, 2] = 1.0 - b[win].sum(-1)
    return face, bary, depth
