import numpy as np

from densepose_ext.synth.occluders import OCCLUDED_IMAGE_SHARE, sample_occluders


def test_occluders_stand_in_front_of_and_overlap_a_person():
    size = (120, 160)
    person = np.stack([np.r_[40.0, 80.0, 40.0, 80.0], np.r_[20.0, 20.0, 100.0, 100.0], np.r_[3.0, 3.2, 3.1, 3.4]], 1)
    layers = [sample_occluders(np.random.default_rng(seed), [person], size) for seed in range(40)]
    drawn = [layer for layer in layers if np.isfinite(layer).any()]
    assert abs(len(drawn) / len(layers) - OCCLUDED_IMAGE_SHARE) < 0.2
    for layer in drawn:
        depth = layer[np.isfinite(layer)]
        assert np.all((depth >= 0.3) & (depth <= 3.0 - 0.2 + 1e-6))   # in front of the nearest vertex
        assert np.isfinite(layer[20:100, 40:80]).any()                 # overlaps the person's box


def test_no_people_no_occluders():
    assert np.all(np.isinf(sample_occluders(np.random.default_rng(0), [], (10, 10))))
