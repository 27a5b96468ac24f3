"""Hand-made ImageDetections for the vis and inference_io tests (no model needed)."""
from __future__ import annotations

import numpy as np

from densepose_ext.inference_io.detections import ImageDetections


def random_detections(rng: np.random.Generator, image_hw=(37, 53), n=4, background_share=0.3,
                      scores=None) -> ImageDetections:
    """n people with random boxes (partly outside the image), labels with some background cells and
    random (U, V); box resolution = box size rounded up, as in the results contract."""
    height, width = image_hw
    boxes, labels, uvs = [], [], []
    for _ in range(n):
        x0, y0 = rng.uniform(-5, width - 3), rng.uniform(-5, height - 3)
        w, h = rng.uniform(0.6, width / 1.5), rng.uniform(0.6, height / 1.5)
        boxes.append([x0, y0, x0 + w, y0 + h])
        bh, bw = int(np.ceil(h)), int(np.ceil(w))
        lab = rng.integers(1, 25, size=(bh, bw)).astype(np.uint8)
        lab[rng.random((bh, bw)) < background_share] = 0
        labels.append(lab)
        uvs.append(rng.random((2, bh, bw)).astype(np.float32))
    if scores is None:
        scores = rng.random(n)
    return ImageDetections((height, width), np.array(boxes, np.float32).reshape(-1, 4),
                           np.asarray(scores, np.float32), tuple(labels), tuple(uvs))


def reference_composite(det: ImageDetections):
    """Slow per-pixel reference of vis.iuv_image.composite_iuv: for every pixel centre, the person with
    the highest score (lowest index on ties) whose box contains it with a non-background cell."""
    height, width = det.image_size
    labels = np.zeros((height, width), np.uint8)
    uv = np.zeros((2, height, width), np.float32)
    inds = np.zeros((height, width), np.int32)
    for y in range(height):
        for x in range(width):
            best = None
            for k in range(len(det)):
                x0, y0, x1, y1 = (float(v) for v in det.boxes[k])
                px, py = x + 0.5, y + 0.5
                if not (x0 <= px < x1 and y0 <= py < y1):
                    continue
                bh, bw = det.labels[k].shape
                c = min(int(np.floor((px - x0) * bw / (x1 - x0))), bw - 1)
                r = min(int(np.floor((py - y0) * bh / (y1 - y0))), bh - 1)
                if det.labels[k][r, c] == 0:
                    continue
                if best is None or det.scores[k] > det.scores[best[0]]:
                    best = (k, r, c)
            if best is not None:
                k, r, c = best
                labels[y, x] = det.labels[k][r, c]
                uv[:, y, x] = det.uv[k][:, r, c]
                inds[y, x] = k + 1
    return labels, uv, inds
