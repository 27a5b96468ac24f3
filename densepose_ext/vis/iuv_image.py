"""Full-image IUV maps: compositing per-person results (box frame) into the image px frame, and the one
reader and writer of every ``*_IUV.png`` file.

The full-image IUV picture is what most users want from DensePose: every image pixel gets the part
label I and chart coordinates (U, V) of the person covering it, plus an instance-index map (INDS).
Where people overlap, the more confident person wins the pixel.

``*_IUV.png`` layout (the reference's, Detectron's ``infer_simple.py``, which cv2.imwrite's an (I, U, V) array):
an 8-bit 3-channel PNG whose blue channel is I (0..24), green round(U * 255) and red round(V * 255). In memory
the arrays are (H, W, 3) uint8 with channel 0 = I, 1 = U * 255, 2 = V * 255; cv2 keeps that order (BGR), RGB
readers such as PIL see it reversed. apply_net's ``--iuv-dir`` and DensePose-Synth's ``dense/`` (format 2) both
write through `iuv_png_bytes` and every consumer reads through `read_iuv_png`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.structures.box_grid import cell_index
from densepose_ext.surface.parts import NUM_FINE_PARTS
from densepose_ext.utils.image_file import encode_image

# The one other layout in circulation: DensePose-Synth format 1 wrote R = I (docs/FORMAT_synth.md).
_OTHER_LAYOUT_HINT = (
    "its red channel holds part labels (<= 24), as in the R = I layout of DensePose-Synth format 1; for a "
    "DensePose-Synth folder run `python -m densepose_ext.synth migrate DIR`, else rewrite it with B = I"
)


@dataclass(frozen=True)
class FullImageIUV:
    """DensePose of a whole image in the image px frame.

    Attributes:
        labels: (H, W) uint8 fine part label 0..24 (0 = no person).
        uv: (2, H, W) float32 chart (U, V) in [0, 1]; 0 where labels == 0.
        inds: (H, W) int32 instance index: 0 = no person, k + 1 = person k of the ImageDetections.
    """

    labels: np.ndarray
    uv: np.ndarray
    inds: np.ndarray


def box_pixel_grid(box: np.ndarray, box_hw: tuple[int, int], image_hw: tuple[int, int]):
    """Image pixels whose centre lies inside `box`, and the box-frame cell each one falls in.

    Args:
        box: (4,) XYXY image px (continuous, pixel centres at +0.5).
        box_hw: (H_k, W_k) resolution of the box frame.
        image_hw: (H, W) image size; pixels outside the image are dropped.
    Returns:
        (rows, cols, cell_rows, cell_cols): int64 1-D arrays; rows/cols are consecutive image pixel
        indices (so they can be used as slices), cell_rows/cell_cols the matching box-frame indices
        (structures/box_grid.cell_index, "clip" rule: a pixel centre inside the box whose cell rounds past the
        grid's edge takes the edge cell, so a pasted box has no holes).
    """
    spans = []
    for lo, hi, cells, size in ((box[1], box[3], box_hw[0], image_hw[0]),
                                (box[0], box[2], box_hw[1], image_hw[1])):
        # pixel p is inside when lo <= p + 0.5 < hi
        first = max(int(np.ceil(lo - 0.5)), 0)
        last = min(int(np.ceil(hi - 0.5)), size)
        pix = np.arange(first, max(last, first), dtype=np.int64)
        spans.append((pix, cell_index(pix + 0.5, lo, hi, cells, edge="clip")[0]))
    (rows, cell_rows), (cols, cell_cols) = spans
    return rows, cols, cell_rows, cell_cols


def paint_order(scores: np.ndarray) -> np.ndarray:
    """Order in which people are painted so that later ones win overlapping pixels: ascending score,
    ties broken in favour of the lower index (painted last). Returns (N,) int64 indices."""
    index = np.arange(len(scores))
    return np.lexsort((-index, scores))


def composite_iuv(detections: ImageDetections) -> FullImageIUV:
    """Paste every person's labels and (U, V) into the full image (nearest box-frame cell per pixel).

    Pixels whose box-frame label is 0 (background) never overwrite another person. Overlaps go to the
    higher score; see `paint_order`.
    """
    height, width = detections.image_size
    labels = np.zeros((height, width), np.uint8)
    uv = np.zeros((2, height, width), np.float32)
    inds = np.zeros((height, width), np.int32)
    for k in paint_order(detections.scores):
        box_labels = detections.labels[k]
        rows, cols, cell_rows, cell_cols = box_pixel_grid(
            detections.boxes[k], box_labels.shape, (height, width))
        if rows.size == 0 or cols.size == 0:
            continue
        window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        patch = box_labels[np.ix_(cell_rows, cell_cols)]
        fg = patch > 0
        labels[window][fg] = patch[fg]
        inds[window][fg] = k + 1
        for channel in range(2):
            uv[channel][window][fg] = detections.uv[k][channel][np.ix_(cell_rows, cell_cols)][fg]
    return FullImageIUV(labels=labels, uv=uv, inds=inds)


def iuv_png_arrays(full: FullImageIUV) -> tuple[np.ndarray, np.ndarray]:
    """Arrays to write as the IUV and INDS PNGs.

    Returns:
        iuv: (H, W, 3) uint8 with channel 0 = I, 1 = round(U * 255), 2 = round(V * 255), for `iuv_png_bytes`.
        inds: (H, W) instance index, uint8 when every index fits (<= 255 people), else uint16.
    """
    uv8 = np.round(full.uv * 255.0).astype(np.uint8)
    iuv = np.stack([full.labels, uv8[0], uv8[1]], axis=-1)
    dtype = np.uint8 if int(full.inds.max(initial=0)) <= np.iinfo(np.uint8).max else np.uint16
    return iuv, full.inds.astype(dtype)


def iuv_png_bytes(iuv: np.ndarray, compression: int = 1) -> bytes:
    """PNG bytes of an IUV image in the reference's ``_IUV.png`` layout (B = I, G = U * 255, R = V * 255).

    Args:
        iuv: (H, W, 3) uint8, channel 0 = I (0..24), 1 = round(U * 255), 2 = round(V * 255).
        compression: PNG compression level 0..9 (size against speed; the pixels are the same).
    """
    if iuv.ndim != 3 or iuv.shape[2] != 3 or iuv.dtype != np.uint8:
        raise ValueError(f"IUV image: expected an (H, W, 3) uint8 array (I, U*255, V*255), got {iuv.shape} {iuv.dtype}")
    if int(iuv[..., 0].max(initial=0)) > NUM_FINE_PARTS:
        raise ValueError(f"IUV image: channel 0 (I): expected part labels 0..{NUM_FINE_PARTS}, "
                         f"got up to {int(iuv[..., 0].max())}")
    # cv2 writes channel 0 as blue: exactly the reference's cv2.imwrite of (I, U, V).
    return encode_image(".png", iuv, [cv2.IMWRITE_PNG_COMPRESSION, compression])


def read_iuv_png(path: str | os.PathLike) -> np.ndarray:
    """Read an ``_IUV.png`` in the reference's layout (B = I, G = U * 255, R = V * 255).

    Returns:
        (H, W, 3) uint8, channel 0 = I (0..24), 1 = U * 255, 2 = V * 255.
    Raises:
        FileNotFoundError when `path` is missing; ValueError naming `path` when it is not an 8-bit 3-channel
        image, or when its blue channel holds values above 24 (not part labels: another layout, e.g. R = I).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: IUV image not found")
    raw = cv2.imread(os.fspath(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise ValueError(f"{path}: not a readable image (cv2.imread failed); expected an 8-bit 3-channel IUV PNG")
    if raw.ndim != 3 or raw.shape[2] != 3 or raw.dtype != np.uint8:
        channels = 1 if raw.ndim == 2 else raw.shape[2]
        raise ValueError(f"{path}: expected an 8-bit 3-channel IUV PNG (B = I, G = U*255, R = V*255), "
                         f"got {channels} channel(s) of {raw.dtype}")
    top = int(raw[..., 0].max())
    if top > NUM_FINE_PARTS:
        other_layout = int(raw[..., 2].max()) <= NUM_FINE_PARTS
        hint = _OTHER_LAYOUT_HINT if other_layout else "neither blue nor red holds part labels: not an IUV image"
        raise ValueError(f"{path}: blue channel (I): expected part labels 0..{NUM_FINE_PARTS} (the reference's "
                         f"layout B = I, G = U*255, R = V*255), got values up to {top}; {hint}")
    return raw
