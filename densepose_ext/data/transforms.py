"""Teaches detectron2/fvcore transforms the data type "densepose": `transform.apply_densepose(on_surface)`.

Registered with `Transform.register_type` (as detectron2 does for "rotated_box"), so a `TransformList` from
any augmentation pipeline maps `DensePoseOnSurface` (targets in image px before the transform, and the body
surface their (I, U, V) are on) to the same after it. The surface travels with the targets because a mirror
needs it, and it is the dataset's own (data/dataset_surface.py), never a process-wide default. Three rules:

- axis-aligned geometry (resize, scale, crop, pad, extent) and photometric transforms: points through
  `apply_coords`, `mask_box` through `apply_box`; the 256x256 coarse mask lives in the box frame, so it moves
  with the box and is unchanged.
- mirrors (horizontal and vertical flip): additionally, the person seen in a mirror shows its other side, so
  every point's (I, U, V) becomes its mirror point on the targets' body surface (`surface.mirror_iuv`), the
  coarse mask is flipped along the same axis and relabelled with COARSE_PART_MIRROR. A vertical flip is a
  horizontal flip followed by a 180 degree rotation, which keeps body-surface labels, hence the same mirror.
- anything else (rotation, grid sampling, user transforms): `apply_densepose` raises NotImplementedError naming
  the transform, instead of silently leaving the coarse mask in a frame that no longer matches the image.

Importing this module performs the registration (no I/O).
"""
from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple, Optional, Protocol

import numpy as np
import torch
from detectron2.data import transforms as T
from fvcore.transforms import transform as fvt

from densepose_ext.structures.targets import DensePoseTargets
from densepose_ext.surface.parts import COARSE_PART_MIRROR

_COARSE_PART_MIRROR_T = torch.from_numpy(COARSE_PART_MIRROR.astype(np.uint8))  # a lookup table for uint8 masks


class MirrorMap(Protocol):
    """What a mirror needs of a body surface (BodySurface has it)."""

    def mirror_iuv(self, i: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ...


class DensePoseOnSurface(NamedTuple):
    """The "densepose" data type: one person's targets and the surface their (I, U, V) are on.

    `surface` may be None where no mirror can happen (e.g. inference, or training without flips); a mirror then
    raises instead of guessing a surface.
    """

    targets: DensePoseTargets
    surface: Optional[MirrorMap]


def _unsupported(transform: fvt.Transform, data: DensePoseOnSurface) -> DensePoseOnSurface:
    raise NotImplementedError(
        f"{type(transform).__name__} has no rule for DensePose targets (the box-frame coarse mask cannot follow "
        "it); register one with "
        f"{type(transform).__name__}.register_type('densepose', func) (see densepose_ext/data/transforms.py)"
    )


def _apply_to_geometry(transform: fvt.Transform, data: DensePoseOnSurface) -> DensePoseOnSurface:
    """Points (image px) via apply_coords and the mask box via apply_box; labels, U, V and the mask unchanged."""
    return data._replace(targets=_move_geometry(transform, data.targets))


def _move_geometry(transform: fvt.Transform, targets: DensePoseTargets) -> DensePoseTargets:
    xy = torch.stack([targets.x, targets.y], dim=1).double().cpu().numpy()
    xy = transform.apply_coords(xy)
    box = transform.apply_box(targets.mask_box.double().cpu().numpy()[None])[0]
    device = targets.device
    return replace(
        targets,
        x=torch.as_tensor(xy[:, 0], dtype=torch.float32, device=device),
        y=torch.as_tensor(xy[:, 1], dtype=torch.float32, device=device),
        mask_box=torch.as_tensor(box, dtype=torch.float32, device=device),
    )


def mirror_densepose(targets: DensePoseTargets, mask_axis: int, surface: Optional[MirrorMap]) -> DensePoseTargets:
    """Labels of the mirrored person: (I, U, V) of each point and the coarse mask flipped along `mask_axis`.

    Positions (x, y, mask_box) are left alone: the caller moves them with the transform's coordinates.
    Args:
        mask_axis: 1 for a horizontal flip (columns of the 256x256 box-frame mask), 0 for a vertical one.
        surface: the body surface of the targets' (I, U, V); ValueError when None.
    """
    if surface is None:
        raise ValueError("a flip mirrors DensePose (I, U, V) through the dataset's body surface, but none was given: "
                         "build DensePoseDatasetMapper from a config whose DATASETS.TRAIN have a surface "
                         "(data/dataset_surface.py) or pass surface=")
    i, u, v = surface.mirror_iuv(targets.i.cpu().numpy(), targets.u.cpu().numpy(), targets.v.cpu().numpy())
    device = targets.device
    masks = targets.coarse_masks
    if masks is not None:
        masks = torch.take(_COARSE_PART_MIRROR_T.to(masks.device), torch.flip(masks, dims=[mask_axis]).long())
    return replace(
        targets,
        i=torch.as_tensor(np.asarray(i), dtype=torch.int64, device=device),
        u=torch.as_tensor(np.asarray(u), dtype=torch.float32, device=device),
        v=torch.as_tensor(np.asarray(v), dtype=torch.float32, device=device),
        coarse_masks=masks,
    )


def _apply_mirror(transform: fvt.Transform, data: DensePoseOnSurface, mask_axis: int) -> DensePoseOnSurface:
    moved = _move_geometry(transform, data.targets)
    return data._replace(targets=mirror_densepose(moved, mask_axis, data.surface))


def _apply_hflip(transform: fvt.HFlipTransform, data: DensePoseOnSurface) -> DensePoseOnSurface:
    return _apply_mirror(transform, data, mask_axis=1)


def _apply_vflip(transform: fvt.VFlipTransform, data: DensePoseOnSurface) -> DensePoseOnSurface:
    return _apply_mirror(transform, data, mask_axis=0)


def transform_densepose_targets(
    targets: DensePoseTargets, transforms: fvt.Transform, image_shape: tuple, surface: Optional[MirrorMap]
) -> DensePoseTargets:
    """Targets after `transforms` (a Transform or TransformList), without the points that left the image.

    Args:
        targets: in image px of the input image.
        image_shape: (H, W) of the transformed image; points outside [0, W) x [0, H) (e.g. cut off by a crop)
            are dropped. `mask_box` is kept as transformed, even where it reaches outside the image.
        surface: the body surface of the targets' (I, U, V), used by mirrors (None: a mirror raises).
    """
    out = transforms.apply_densepose(DensePoseOnSurface(targets, surface)).targets
    height, width = image_shape
    inside = (out.x >= 0) & (out.x < width) & (out.y >= 0) & (out.y < height)
    return out.select_points(inside)


def _register() -> None:
    fvt.Transform.register_type("densepose", _unsupported)
    axis_aligned = (
        fvt.NoOpTransform,  # its __getattr__ fallback is shadowed by the base-class rule above
        fvt.CropTransform,
        fvt.PadTransform,
        fvt.ScaleTransform,
        fvt.BlendTransform,
        T.ResizeTransform,
        T.ExtentTransform,
        T.ColorTransform,
    )
    for cls in axis_aligned:
        cls.register_type("densepose", _apply_to_geometry)
    fvt.HFlipTransform.register_type("densepose", _apply_hflip)
    fvt.VFlipTransform.register_type("densepose", _apply_vflip)


_register()
