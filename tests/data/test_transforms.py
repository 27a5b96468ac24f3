import numpy as np
import pytest
import torch
from detectron2.data import transforms as T

from densepose_ext.data.annotation import densepose_targets_from_annotation
from densepose_ext.data.transforms import DensePoseOnSurface, transform_densepose_targets
from densepose_ext.structures.targets import DensePoseTargets
from densepose_ext.surface import get_surface
from densepose_ext.surface.parts import COARSE_PART_MIRROR, FINE_PART_MIRROR

from .helpers import FakeSurface, coarse_masks_example, tiny_densepose_coco

WIDTH, HEIGHT = 80, 60  # image 1 of the tiny dataset


def _person_11() -> DensePoseTargets:
    return densepose_targets_from_annotation(tiny_densepose_coco()["annotations"][0])


def _assert_same(a: DensePoseTargets, b: DensePoseTargets, atol: float = 1e-5) -> None:
    for name in ("x", "y", "u", "v", "mask_box"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), atol=atol, rtol=0)
    assert torch.equal(a.i, b.i)
    assert (a.coarse_masks is None) == (b.coarse_masks is None)
    if a.coarse_masks is not None:
        assert torch.equal(a.coarse_masks, b.coarse_masks)


def _apply(transform, t: DensePoseTargets, surface=None) -> DensePoseTargets:
    """`transform` applied to targets on `surface` (the "densepose" data type)."""
    return transform.apply_densepose(DensePoseOnSurface(t, surface)).targets


def _hflip_reference(t: DensePoseTargets, width: int, surface) -> DensePoseTargets:
    """Point by point and pixel by pixel: what a horizontal flip does to one person's targets."""
    x, i, u, v = [], [], [], []
    for k in range(len(t)):
        mi, mu, mv = surface.mirror_iuv(np.array([int(t.i[k])]), np.array([float(t.u[k])]), np.array([float(t.v[k])]))
        x.append(width - float(t.x[k]))
        i.append(int(mi[0]))
        u.append(float(mu[0]))
        v.append(float(mv[0]))
    masks = torch.zeros(256, 256, dtype=torch.uint8)
    for r in range(256):
        for c in range(256):
            masks[r, c] = int(COARSE_PART_MIRROR[int(t.coarse_masks[r, 255 - c])])
    x0, y0, x1, y1 = t.mask_box.tolist()
    return DensePoseTargets(
        x=torch.tensor(x), y=t.y.clone(), i=torch.tensor(i), u=torch.tensor(u), v=torch.tensor(v),
        coarse_masks=masks, mask_box=torch.tensor([width - x1, y0, width - x0, y1]),
    )


def test_hflip_equals_mirror_map_of_original(fake_surface):
    t = _person_11()
    flipped = _apply(T.HFlipTransform(WIDTH), t, fake_surface)
    _assert_same(flipped, _hflip_reference(t, WIDTH, fake_surface))
    # The fake mirror in closed form: parts swap sides, U reverses.
    assert flipped.i.tolist() == FINE_PART_MIRROR[t.i.numpy()].tolist() == [1, 4, 16, 23]
    torch.testing.assert_close(flipped.u, 1 - t.u)
    # Torso (1) was on the left half of the box; it is now on the right half, the right hand (2) became a
    # left hand (3) in the top-left quarter, and the head (14) stays head.
    masks = flipped.coarse_masks
    assert (masks[200, 128:] == 1).all() and (masks[200, :128] == 0).all()
    assert (masks[100, :96] == 3).all() and (masks[30, 96:160] == 14).all()


def test_flip_twice_is_identity(fake_surface):
    t = _person_11()
    for flip in (T.HFlipTransform(WIDTH), T.VFlipTransform(HEIGHT)):
        _assert_same(_apply(flip, _apply(flip, t, fake_surface), fake_surface), t)


def test_vflip_mirrors_labels_and_flips_mask_rows(fake_surface):
    t = _person_11()
    flipped = _apply(T.VFlipTransform(HEIGHT), t, fake_surface)
    torch.testing.assert_close(flipped.y, HEIGHT - t.y)
    torch.testing.assert_close(flipped.x, t.x)
    assert flipped.i.tolist() == FINE_PART_MIRROR[t.i.numpy()].tolist()
    expected = torch.from_numpy(COARSE_PART_MIRROR)[torch.flip(t.coarse_masks, dims=[0]).long()].to(torch.uint8)
    assert torch.equal(flipped.coarse_masks, expected)
    x0, y0, x1, y1 = t.mask_box.tolist()
    assert flipped.mask_box.tolist() == [x0, HEIGHT - y1, x1, HEIGHT - y0]


def test_resize_scales_points_and_box_and_keeps_labels():
    t = _person_11()
    out = _apply(T.ResizeTransform(HEIGHT, WIDTH, 30, 160), t)  # x * 2, y / 2
    torch.testing.assert_close(out.x, t.x * 2)
    torch.testing.assert_close(out.y, t.y / 2)
    x0, y0, x1, y1 = t.mask_box.tolist()
    assert out.mask_box.tolist() == [x0 * 2, y0 / 2, x1 * 2, y1 / 2]
    assert torch.equal(out.i, t.i) and torch.equal(out.u, t.u) and out.coarse_masks is t.coarse_masks


def test_crop_shifts_and_drops_points_outside():
    t = _person_11()  # x = [8, 40, 58, 71.875], y = [4, 16, 28, 50.875]
    crop = T.CropTransform(20, 10, 45, 30)  # keeps image x in [20, 65), y in [10, 40)
    out = transform_densepose_targets(t, T.TransformList([crop]), (30, 45), None)
    assert out.x.tolist() == [20.0, 38.0] and out.y.tolist() == [6.0, 18.0]
    assert out.i.tolist() == [3, 15]  # the points' own labels travel with them
    assert out.mask_box.tolist() == [-12.0, -6.0, 52.0, 42.0]  # box frame kept, even outside the crop
    assert out.coarse_masks is t.coarse_masks


def test_transform_list_composes_rules(fake_surface):
    t = _person_11()
    resize = T.ResizeTransform(HEIGHT, WIDTH, 120, 160)
    flip = T.HFlipTransform(160)
    composed = _apply(T.TransformList([resize, flip, T.NoOpTransform()]), t, fake_surface)
    _assert_same(composed, _apply(flip, _apply(resize, t), fake_surface))


def test_photometric_transforms_change_nothing():
    t = _person_11()
    for transform in (T.NoOpTransform(), T.BlendTransform(np.zeros(1), 0.5, 0.5), T.ColorTransform(lambda im: im)):
        _assert_same(_apply(transform, t), t)


def test_unsupported_transform_names_itself():
    with pytest.raises(NotImplementedError, match="RotationTransform has no rule for DensePose targets"):
        _apply(T.RotationTransform(HEIGHT, WIDTH, 30), _person_11(), FakeSurface())


def test_empty_targets_survive_every_rule(fake_surface):
    t = densepose_targets_from_annotation({"bbox": [8.0, 4.0, 64.0, 48.0], "dp_masks": coarse_masks_example()})
    transforms = T.TransformList([T.ResizeTransform(HEIGHT, WIDTH, 30, 40), T.HFlipTransform(40)])
    out = transform_densepose_targets(t, transforms, (30, 40), fake_surface)
    assert len(out) == 0 and out.mask_box.tolist() == [4.0, 2.0, 36.0, 26.0]


def test_real_surface_flip_is_an_involution_and_swaps_parts():
    """On the real surface, independently of `mirror_iuv`: each flipped point's body position is the reflection
    of the original's through the body's sagittal plane (x -> -x), its part is the mirror table's, and image
    position, coarse masks (mirror table, columns reversed) and box are flipped; twice is the identity."""
    surface = get_surface()
    t = _person_11()
    flip = T.HFlipTransform(WIDTH)
    once = _apply(flip, t, surface)
    assert once.i.tolist() == FINE_PART_MIRROR[t.i.numpy()].tolist()
    assert not torch.equal(once.i, t.i)  # the example has lateral parts, so the flip must change labels
    here = surface.surface_to_xyz(*surface.iuv_to_surface(t.i.numpy(), t.u.numpy(), t.v.numpy()))
    there = surface.surface_to_xyz(*surface.iuv_to_surface(once.i.numpy(), once.u.numpy(), once.v.numpy()))
    np.testing.assert_allclose(there * [-1, 1, 1], here, atol=0.01)  # within 1 cm: the charts' resolution
    torch.testing.assert_close(once.x, WIDTH - t.x)
    assert torch.equal(once.y, t.y)
    assert torch.equal(once.coarse_masks, torch.from_numpy(COARSE_PART_MIRROR[t.coarse_masks.numpy()[:, ::-1]]))
    x0, y0, x1, y1 = t.mask_box.tolist()
    assert once.mask_box.tolist() == [WIDTH - x1, y0, WIDTH - x0, y1]
    twice = _apply(flip, once, surface)
    _assert_same(twice, t, atol=0.02)  # the surface's U,V mirror is exact up to its chart resolution


@pytest.mark.parametrize("device", ["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
def test_rules_keep_targets_on_their_device_with_the_same_values(device, fake_surface):
    t = _person_11()
    transforms = T.TransformList([T.ResizeTransform(HEIGHT, WIDTH, 30, 40), T.HFlipTransform(40)])
    on_device = transform_densepose_targets(t.to(device), transforms, (30, 40), fake_surface)
    for name in ("x", "y", "i", "u", "v", "coarse_masks", "mask_box"):
        assert getattr(on_device, name).device.type == device
    _assert_same(on_device.to("cpu"), transform_densepose_targets(t, transforms, (30, 40), fake_surface))


def test_a_flip_without_a_surface_is_refused_not_guessed():
    with pytest.raises(ValueError, match="through the dataset's body surface, but none was given"):
        _apply(T.HFlipTransform(WIDTH), _person_11(), surface=None)
