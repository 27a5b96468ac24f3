"""One small DensePose-Synth scene and its exact rendering, shared by the IUV -> surface tests."""
from functools import lru_cache

import numpy as np

from densepose_ext.surface import get_surface
from densepose_ext.synth.body_model import get_body_model
from densepose_ext.synth.render import render
from densepose_ext.synth.scene import sample_scene

SIZE = (160, 200)


@lru_cache(maxsize=None)
def synth_scene(seed: int = 3):
    """(scene, rendering) of a SIZE image: exact per-pixel (I, U, V) truth and the posed people behind it."""
    rng = np.random.default_rng(seed)
    scene = sample_scene(get_body_model(), rng, SIZE)
    return scene, render(scene, get_surface(), rng)
