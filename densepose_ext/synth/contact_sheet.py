"""Contact sheet of DensePose-Synth samples with their annotations drawn (docs/synth_contact_sheet.png).

    python -m densepose_ext.synth contact-sheet [--out docs/synth_contact_sheet.png] [--seed 0] [--num 4]

Each row is one image: left, the RGB image with boxes (green: with DensePose points, orange: box and
keypoints only), COCO skeletons (filled dots visible, rings occluded) and the sparse points coloured by
part; right, the dense part labels I from the IUV truth, with the U chart coordinate as brightness.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from densepose_ext.synth.body_model import COCO_SKELETON
from densepose_ext.synth.dataset_format import SYNTH_SURFACE
from densepose_ext.synth.generate import render_image

_TILE = (300, 400)  # (height, width) of each panel


def _part_colours() -> np.ndarray:
    """(25,3) uint8 BGR colour per fine label, background black."""
    lut = cv2.applyColorMap(np.linspace(0, 255, 25).astype(np.uint8)[:, None], cv2.COLORMAP_TURBO)[:, 0]
    lut[0] = 0
    return lut


def draw_annotations(rgb: np.ndarray, annotations: list[dict]) -> np.ndarray:
    """BGR copy of `rgb` (H,W,3) with boxes, skeletons and DensePose points drawn (image px)."""
    img = np.ascontiguousarray(rgb[:, :, ::-1])
    colours = _part_colours()
    for ann in annotations:
        x0, y0, w, h = ann["bbox"]
        has_dp = "dp_x" in ann
        cv2.rectangle(img, (int(x0), int(y0)), (int(x0 + w - 1), int(y0 + h - 1)),
                      (0, 220, 0) if has_dp else (0, 140, 255), 1)
        kp = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        for a, b in COCO_SKELETON:
            if kp[a - 1, 2] > 0 and kp[b - 1, 2] > 0:
                cv2.line(img, tuple(int(v) for v in kp[a - 1, :2]), tuple(int(v) for v in kp[b - 1, :2]),
                         (255, 255, 255), 1, cv2.LINE_AA)
        for x, y, v in kp:
            if v > 0:
                cv2.circle(img, (int(x), int(y)), 2, (0, 0, 255), -1 if v == 2 else 1, cv2.LINE_AA)
        if has_dp:
            xs = x0 + np.asarray(ann["dp_x"]) * w / 256
            ys = y0 + np.asarray(ann["dp_y"]) * h / 256
            for x, y, i in zip(xs, ys, ann["dp_I"]):
                cv2.circle(img, (int(x), int(y)), 1, tuple(int(c) for c in colours[int(i)]), -1)
    return img


def dense_panel(iuv: np.ndarray) -> np.ndarray:
    """BGR view of an IUV truth image (H,W,3): part colour scaled by 0.5 + U/2."""
    shade = 0.5 + iuv[:, :, 1:2].astype(np.float32) / 510.0
    return (_part_colours()[iuv[:, :, 0]] * shade).astype(np.uint8)


def contact_sheet(seed: int = 0, num: int = 4, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """(num*300, 800, 3) BGR sheet of images 0..num-1 of a dataset with this seed and size."""
    rows = []
    surface = SYNTH_SURFACE.load()
    for index in range(num):
        r = render_image(index, seed, size, surface)
        left = cv2.resize(draw_annotations(r["rgb"], r["annotations"]), _TILE[::-1], interpolation=cv2.INTER_AREA)
        right = cv2.resize(dense_panel(r["iuv"]), _TILE[::-1], interpolation=cv2.INTER_NEAREST)
        rows.append(np.concatenate([left, right], axis=1))
    return np.concatenate(rows, axis=0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m densepose_ext.synth contact-sheet")
    parser.add_argument("--out", default="docs/synth_contact_sheet.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num", type=int, default=4)
    args = parser.parse_args(argv)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, contact_sheet(args.seed, args.num), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
