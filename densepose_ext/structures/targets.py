"""DensePose ground truth of one image after the mapper's transforms, as a detectron2 `Instances` field.

Shape and frame key:
    P        number of annotated points of one person
    N        number of instances (people) in an image or a batch
    image px pixel coordinates of the transformed image: x right, y down, continuous, pixel centres at +0.5
    chart    (U, V) in [0, 1] of the fine part I in 1..24
    mask     the 256x256 coarse part mask (labels 0..14, see surface/parts.py) covers the box `mask_box`
             (XYXY image px); mask row r, column c covers the cell
             [x0 + c * w / 256, x0 + (c + 1) * w / 256) x [y0 + r * h / 256, y0 + (r + 1) * h / 256).

The mapper (densepose_ext/data/dataset_mapper.py) stores one `DensePoseList` per image as
`instances.gt_densepose`, aligned with `instances.gt_boxes`; entries are `None` for people without DensePose
annotation. The losses read points in image px and sample the predicted ROI maps at them.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from numbers import Integral
from typing import Iterator, List, Optional, Sequence, Union

import torch


# eq=False: tensor fields have no single truth value; compare tensors explicitly.
@dataclass(frozen=True, eq=False)
class DensePoseTargets:
    """Sparse points and the coarse part mask of one person.

    Attributes:
        x, y: Tensor[P] float32, image px.
        i: Tensor[P] int64, fine part label in 1..24.
        u, v: Tensor[P] float32, chart coordinates in [0, 1] of part `i`.
        coarse_masks: Tensor[256, 256] uint8, coarse labels 0..14 in the frame of `mask_box`, or None when the
            annotation has no `dp_masks`.
        mask_box: Tensor[4] float32, XYXY image px of the region the coarse mask covers (the annotated box,
            transformed like the image).
    """

    x: torch.Tensor
    y: torch.Tensor
    i: torch.Tensor
    u: torch.Tensor
    v: torch.Tensor
    coarse_masks: Optional[torch.Tensor]
    mask_box: torch.Tensor

    def __post_init__(self) -> None:
        num_points = self.x.shape
        for name in ("y", "i", "u", "v"):
            if getattr(self, name).shape != num_points:
                raise ValueError(
                    f"DensePoseTargets.{name}: expected shape {tuple(num_points)} like x, "
                    f"got {tuple(getattr(self, name).shape)}"
                )
        if self.x.dim() != 1:
            raise ValueError(f"DensePoseTargets.x: expected a 1-D tensor [P], got shape {tuple(self.x.shape)}")
        if self.mask_box.shape != (4,):
            raise ValueError(f"DensePoseTargets.mask_box: expected shape (4,), got {tuple(self.mask_box.shape)}")
        if self.coarse_masks is not None and self.coarse_masks.shape != (256, 256):
            raise ValueError(
                f"DensePoseTargets.coarse_masks: expected shape (256, 256), got {tuple(self.coarse_masks.shape)}"
            )

    def __len__(self) -> int:
        """Number of annotated points P."""
        return self.x.shape[0]

    @property
    def device(self) -> torch.device:
        return self.x.device

    def select_points(self, keep: torch.Tensor) -> "DensePoseTargets":
        """Keeps the points selected by `keep` (BoolTensor[P] or index Tensor); the mask is unchanged."""
        return replace(self, x=self.x[keep], y=self.y[keep], i=self.i[keep], u=self.u[keep], v=self.v[keep])

    def to(self, device: Union[str, torch.device]) -> "DensePoseTargets":
        """Same targets with every tensor on `device` (dtypes kept: labels stay int64, masks uint8)."""
        moved = {
            f.name: getattr(self, f.name).to(device=device)
            for f in fields(self)
            if isinstance(getattr(self, f.name), torch.Tensor)
        }
        return replace(self, **moved)


class DensePoseList:
    """Per-instance DensePose ground truth of one image (or of a batch after `cat`), a detectron2 Instances field.

    Entries are `DensePoseTargets` or None (an instance without DensePose annotation). Indexing follows
    detectron2's structures (`Boxes`, `Keypoints`): an int, a slice, a BoolTensor[N] or an index Tensor gives a
    DensePoseList, so `Instances.__getitem__` and `Instances.cat` keep this field aligned with the others.
    Iterating yields the entries themselves.
    """

    def __init__(self, targets: Sequence[Optional[DensePoseTargets]]):
        for k, t in enumerate(targets):
            if t is not None and not isinstance(t, DensePoseTargets):
                raise TypeError(f"DensePoseList entry {k}: expected DensePoseTargets or None, got {type(t).__name__}")
        self._targets: List[Optional[DensePoseTargets]] = list(targets)

    def __len__(self) -> int:
        return len(self._targets)

    def __iter__(self) -> Iterator[Optional[DensePoseTargets]]:
        return iter(self._targets)

    def __getitem__(self, item: Union[int, slice, torch.Tensor]) -> "DensePoseList":
        """Entries selected by an int, a slice, a BoolTensor[N] or an integer index Tensor, as a DensePoseList."""
        if isinstance(item, Integral):  # int and numpy integers
            # Raises IndexError out of range, like a list.
            return DensePoseList([self._targets[item]])
        if isinstance(item, slice):
            return DensePoseList(self._targets[item])
        if isinstance(item, torch.Tensor):
            if item.dtype == torch.bool:
                if item.shape != (len(self),):
                    raise IndexError(
                        f"DensePoseList: boolean index of shape {tuple(item.shape)} for {len(self)} entries"
                    )
                item = item.nonzero().flatten()
            if item.dim() > 1 or item.is_floating_point():
                raise IndexError(
                    f"DensePoseList: expected a 1-D integer index tensor, got {item.dtype} {tuple(item.shape)}"
                )
            return DensePoseList([self._targets[k] for k in item.tolist()])
        raise TypeError(f"DensePoseList: unsupported index type {type(item).__name__}")

    @property
    def has_targets(self) -> torch.Tensor:
        """BoolTensor[N]: True where the instance carries DensePose annotation (on the entries' device)."""
        device = next((t.device for t in self._targets if t is not None), torch.device("cpu"))
        return torch.tensor([t is not None for t in self._targets], dtype=torch.bool, device=device)

    @classmethod
    def cat(cls, lists: Sequence["DensePoseList"]) -> "DensePoseList":
        """Concatenates the entries of several lists, in order (what `Instances.cat` calls)."""
        return cls([t for dp_list in lists for t in dp_list])

    def to(self, device: Union[str, torch.device]) -> "DensePoseList":
        """Same list with each entry moved to `device` (what `Instances.to` calls)."""
        return DensePoseList([None if t is None else t.to(device) for t in self._targets])

    def __repr__(self) -> str:
        points = [None if t is None else len(t) for t in self._targets]
        return f"DensePoseList(num_instances={len(self)}, points_per_instance={points})"
