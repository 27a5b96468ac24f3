"""Nearest-point baseline densifier: vectorised result equals a per-cell loop."""
import numpy as np
import torch

from densepose_ext.structures.targets import DensePoseTargets
from densepose_ext.teacher.nearest import NearestPointLabeller, nearest_point_labels


def _person(num_points, seed=0):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.zeros(256, 256, dtype=torch.uint8)
    coarse[32:, 64:200] = 3  # the person covers part of the box only
    return DensePoseTargets(
        x=10 + 30 * torch.rand(num_points, generator=g), y=20 + 50 * torch.rand(num_points, generator=g),
        i=torch.randint(1, 25, (num_points,), generator=g), u=torch.rand(num_points, generator=g),
        v=torch.rand(num_points, generator=g), coarse_masks=coarse, mask_box=torch.tensor([10.0, 20.0, 40.0, 70.0]),
    )


def test_matches_per_cell_loop():
    t, size = _person(7), 16
    labels, uv = nearest_point_labels(t, size)
    x0, y0, x1, y1 = t.mask_box.tolist()
    mask = t.coarse_masks.numpy()
    for r in range(size):
        for c in range(size):
            x, y = x0 + (c + 0.5) * (x1 - x0) / size, y0 + (r + 0.5) * (y1 - y0) / size
            inside = mask[int((r + 0.5) * 256 / size), int((c + 0.5) * 256 / size)] > 0
            if not inside:
                assert labels[r, c] == 0 and uv[0, r, c] == 0 and uv[1, r, c] == 0
                continue
            k = int(np.argmin((t.x.numpy() - x) ** 2 + (t.y.numpy() - y) ** 2))
            assert labels[r, c] == t.i[k]
            assert uv[0, r, c] == t.u[k] and uv[1, r, c] == t.v[k]


def test_person_without_points_and_labeller_stacking():
    labels, uv = nearest_point_labels(_person(0), 8)
    assert not labels.any() and not uv.any()
    labeller = NearestPointLabeller(8)
    stacked_labels, stacked_uv = labeller({}, [_person(3, seed=1), _person(5, seed=2)])
    assert stacked_labels.shape == (2, 8, 8) and stacked_uv.shape == (2, 2, 8, 8)
    np.testing.assert_array_equal(stacked_labels[1], nearest_point_labels(_person(5, seed=2), 8)[0])
