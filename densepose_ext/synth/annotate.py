"""DensePose-COCO annotations of a rendered scene, taken from its exact dense truth.

Per visible person (scene order; its 1-based position is its value in the INDS image): bbox and RLE
segmentation of the visible region, area, 17 COCO keypoints with visibility from the depth buffer, and,
unless the person is tiny or mostly hidden, sparse points (dp_x, dp_y in box-256; dp_I, dp_U, dp_V read
from the dense truth at the point's pixel centre) and 14 coarse dp_masks (256x256 RLE in the box frame).
"""
from __future__ import annotations

import numpy as np
import pycocotools.mask as mask_utils

from densepose_ext.surface.parts import FINE_TO_COARSE, NUM_COARSE_PARTS, NUM_FINE_PARTS
from densepose_ext.synth.camera import Camera
from densepose_ext.synth.render import Rendering
from densepose_ext.synth.sampling import kmeans_pixels, points_for_part

# A person gets DensePose fields only with this many visible pixels and unoccluded keypoints.
MIN_DP_AREA = 900
MIN_DP_VISIBLE_KEYPOINTS = 3
# A keypoint (a joint centre, inside the body) counts as visible when the surface seen at its pixel is
# the same person and lies at most this far in front of it (metres): deeper means another limb hides it.
KEYPOINT_DEPTH_TOLERANCE = 0.18
DP_MASK_SIZE = 256


def rle_encode(mask: np.ndarray) -> dict:
    """COCO compressed RLE of a (H,W) bool mask, JSON-safe ({"size": [H, W], "counts": str})."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def keypoints_visibility(camera: Camera, keypoints: np.ndarray, person_index: int, rendering: Rendering
                         ) -> list[float]:
    """COCO keypoint triplets (x, y, v) in image px for keypoints (17,3) world metres: v = 2 visible,
    1 in the image but occluded (by another person or by the body itself), 0 (with x = y = 0) outside."""
    height, width = camera.size
    proj = camera.project(keypoints)
    x, y, z = proj[:, 0], proj[:, 1], proj[:, 2]
    inside = (z > 0) & (x >= 0) & (x < width) & (y >= 0) & (y < height)
    px = np.clip(np.floor(x), 0, width - 1).astype(np.int64)
    py = np.clip(np.floor(y), 0, height - 1).astype(np.int64)
    seen = (rendering.person[py, px] == person_index) & (z - rendering.depth[py, px] <= KEYPOINT_DEPTH_TOLERANCE)
    vis = np.where(inside, np.where(seen, 2, 1), 0)
    # floor to 0.01 px (not round) so that a keypoint inside the image stays below its width/height
    xs, ys = np.floor(np.where(inside, x, 0.0) * 100) / 100, np.floor(np.where(inside, y, 0.0) * 100) / 100
    return [v for a, b, c in zip(xs, ys, vis) for v in (float(a), float(b), int(c))]


def _box_grid(bbox: list[float], shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel rows (256,) and columns (256,) under the centres of the 256x256 box-256 grid."""
    x0, y0, w, h = bbox
    centres = (np.arange(DP_MASK_SIZE) + 0.5) / DP_MASK_SIZE
    cols = np.clip(np.floor(x0 + centres * w), 0, shape[1] - 1).astype(np.int64)
    rows = np.clip(np.floor(y0 + centres * h), 0, shape[0] - 1).astype(np.int64)
    return rows, cols


def dp_masks(mask: np.ndarray, part: np.ndarray, bbox: list[float]) -> list:
    """14 coarse part masks (order of COARSE_PART_NAMES[1:]) of one person as 256x256 RLE in the box frame
    (nearest pixel under each grid centre), [] for a part that is not visible."""
    rows, cols = _box_grid(bbox, mask.shape)
    labels = np.where(mask[np.ix_(rows, cols)], FINE_TO_COARSE[part[np.ix_(rows, cols)]], 0)
    return [rle_encode(labels == c) if (labels == c).any() else [] for c in range(1, NUM_COARSE_PARTS + 1)]


def dp_points(mask: np.ndarray, rendering: Rendering, bbox: list[float]) -> dict[str, list[float]]:
    """Sparse points of one person (mask (H,W) bool): per visible fine part, k-means pixels (<= 14).
    Returns dp_x, dp_y (box-256 of the pixel centres), dp_I, dp_U, dp_V (dense truth at those pixels)."""
    ys, xs = np.nonzero(mask)
    labels = rendering.part[ys, xs]
    order = np.argsort(labels, kind="stable")
    ys, xs, labels = ys[order], xs[order], labels[order]
    bounds = np.searchsorted(labels, np.arange(1, NUM_FINE_PARTS + 2))
    picked = []
    for i in range(NUM_FINE_PARTS):  # loop over parts; pixels inside a part are handled as arrays
        lo, hi = bounds[i], bounds[i + 1]
        n = points_for_part(hi - lo, len(ys))
        if n:
            picked.append(lo + kmeans_pixels(np.stack([xs[lo:hi], ys[lo:hi]], 1), n))
    sel = np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)
    py, px = ys[sel], xs[sel]
    x0, y0, w, h = bbox
    return {
        "dp_x": [round(float(v), 4) for v in (px + 0.5 - x0) * 256.0 / w],
        "dp_y": [round(float(v), 4) for v in (py + 0.5 - y0) * 256.0 / h],
        "dp_I": [float(v) for v in rendering.part[py, px]],
        "dp_U": [round(float(v), 8) for v in rendering.uv[py, px, 0]],
        "dp_V": [round(float(v), 8) for v in rendering.uv[py, px, 1]],
    }


def annotate(camera: Camera, keypoints: list[np.ndarray], rendering: Rendering
             ) -> tuple[list[dict], np.ndarray, list[int]]:
    """Annotations of all visible people (without image/annotation ids), the INDS image (H,W) uint8
    (0 = background, k = k-th annotation) and, per scene person, its k (0 when not visible).
    keypoints: per scene person (17,3) world metres."""
    inds = np.zeros(rendering.person.shape, dtype=np.uint8)
    annotations: list[dict] = []
    person_to_ann: list[int] = []
    for p, kps in enumerate(keypoints):
        mask = rendering.person == p
        area = int(mask.sum())
        if area == 0:
            person_to_ann.append(0)
            continue
        k = len(annotations) + 1
        person_to_ann.append(k)
        inds[mask] = k
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        bbox = [float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1)]
        kp = keypoints_visibility(camera, kps, p, rendering)
        ann = {"category_id": 1, "iscrowd": 0, "bbox": bbox, "area": float(area),
               "segmentation": rle_encode(mask), "keypoints": kp,
               "num_keypoints": int(sum(v > 0 for v in kp[2::3]))}
        if area >= MIN_DP_AREA and sum(v == 2 for v in kp[2::3]) >= MIN_DP_VISIBLE_KEYPOINTS:
            ann.update(dp_points(mask, rendering, bbox))
            ann["dp_masks"] = dp_masks(mask, rendering.part, bbox)
        annotations.append(ann)
    return annotations, inds, person_to_ann
