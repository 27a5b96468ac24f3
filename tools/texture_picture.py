"""Draw docs/texture_transfer.png: a DensePose-Synth rendering, the same people painted with the generated part
atlas through their exact (I, U, V), and the partial atlas extracted back from the rendering (grey = unseen).

    python tools/texture_picture.py [--output docs/texture_transfer.png] [--seed 3]
"""
from __future__ import annotations

import argparse

import cv2
import numpy as np

from densepose_ext.surface.texture import extract_texture, labelled_part_atlas, paint_texture
from densepose_ext.synth.body_model import get_body_model
from densepose_ext.synth.dataset_format import SYNTH_SURFACE
from densepose_ext.synth.render import render
from densepose_ext.synth.scene import sample_scene

SIZE = (360, 480)
UNSEEN_GREY = 90


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="docs/texture_transfer.png")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rendering = render(sample_scene(get_body_model(), rng, SIZE), SYNTH_SURFACE.load(), rng)
    image = rendering.image[:, :, ::-1]  # RGB -> BGR
    labels, uv = rendering.part, rendering.uv.transpose(2, 0, 1)
    painted = paint_texture(image, labels, uv, labelled_part_atlas())
    atlas, seen = extract_texture(image, labels, uv)
    atlas = np.where(seen[..., None], atlas, UNSEEN_GREY).astype(np.uint8)
    atlas = cv2.resize(atlas, (SIZE[0] * 2 // 3, SIZE[0]), interpolation=cv2.INTER_AREA)
    cv2.imwrite(args.output, np.concatenate([image, painted, atlas], axis=1))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
