"""Per-person DensePose results in the box frame, and their compact package-independent encoding.

A result is box-relative: an H x W grid laid over the box of its instance (on model outputs, `pred_boxes`
in the original image, see modeling/inference.py). Its size is the reference's (`box_resolution`): for box
(x0, y0, x1, y1) in image px, W = int(x1 - x0), H = int(y1 - y0), so cell (r, c) is about image pixel
(int(x0) + c, int(y0) + r), and cell (r, c) holds the prediction resampled (bilinear, align_corners=False) at
image px (x0 + (c + 0.5) * (x1 - x0) / W, y0 + (r + 0.5) * (y1 - y0) / H). See docs/FORMAT_results.md.
"""
from __future__ import annotations

import base64
import binascii
import io
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Sequence, Tuple, Union

import numpy as np
import torch
from PIL import Image

from densepose_ext.surface.parts import NUM_FINE_PARTS
from densepose_ext.utils.cli_errors import UserInputError

RECORD = "DensePose result record"  # what decode's errors name; a caller with a file re-raises naming it


def box_resolution(box: Union[Sequence[float], torch.Tensor]) -> tuple[int, int]:
    """(H, W) of the result grid of an XYXY image-px box, the reference's: the box's height and width computed in
    float32 and truncated towards zero, at least 1 (float64 or rounding up would give another size for some
    fractional boxes)."""
    x0, y0, x1, y1 = torch.as_tensor(box, dtype=torch.float32).flatten().tolist()
    width = torch.tensor(x1, dtype=torch.float32) - torch.tensor(x0, dtype=torch.float32)
    height = torch.tensor(y1, dtype=torch.float32) - torch.tensor(y0, dtype=torch.float32)
    return max(1, int(height)), max(1, int(width))


@dataclass
class DensePoseResult:
    """One detected person, relative to its box (the instance's `pred_boxes` entry; it holds no box itself).

    labels: (H, W) uint8 in 0..24 (0 = background), box frame.
    uv:     (2, H, W) float32 chart coordinates U then V, regressed values of [0, 1] (not clamped unless
            MODEL.ROI_DENSEPOSE_HEAD.INFERENCE.CLAMP_UV), 0 where labels == 0, box frame.
    confidences: {name: (H, W) float32} of a model with UV confidence (modeling/confidence.py), else empty:
            "sigma_2" (and "kappa_u", "kappa_v" for "indep_aniso"), the raw predictor output of the
            pixel's label channel, resampled like U/V, 0 where labels == 0, box frame (as the reference's
            chart results with confidences).
    """

    labels: torch.Tensor
    uv: torch.Tensor
    confidences: Dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        h, w = self.labels.shape
        if self.uv.shape != (2, h, w):
            raise ValueError(f"DensePoseResult.uv: expected shape (2, {h}, {w}), got {tuple(self.uv.shape)}")
        for name, values in self.confidences.items():
            if values.shape != (h, w):
                raise ValueError(f"DensePoseResult.confidences[{name!r}]: expected shape ({h}, {w}), "
                                 f"got {tuple(values.shape)}")

    def to(self, device: Union[str, torch.device]) -> "DensePoseResult":
        return DensePoseResult(self.labels.to(device), self.uv.to(device),
                               {name: values.to(device) for name, values in self.confidences.items()})


class DensePoseResultList:
    """List-like container of DensePoseResult usable as a detectron2 `Instances` field
    (`pred_densepose`): supports len, iteration, indexing by int / slice / bool or index tensor,
    `cat` and `to`."""

    def __init__(self, results: Sequence[DensePoseResult] = ()):
        self.results: List[DensePoseResult] = list(results)

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[DensePoseResult]:
        return iter(self.results)

    def __getitem__(self, item: Any) -> Union[DensePoseResult, "DensePoseResultList"]:
        if isinstance(item, numbers.Integral):  # int and numpy integers alike: one result
            return self.results[item]
        if isinstance(item, slice):
            return DensePoseResultList(self.results[item])
        index = torch.as_tensor(item)
        if index.dtype == torch.bool:
            if index.shape != (len(self),):
                raise IndexError(
                    f"DensePoseResultList: bool index of shape {tuple(index.shape)} for {len(self)} results"
                )
            index = index.nonzero().flatten()
        return DensePoseResultList([self.results[k] for k in index.flatten().tolist()])

    @classmethod
    def cat(cls, lists: Sequence["DensePoseResultList"]) -> "DensePoseResultList":
        return cls([r for lst in lists for r in lst])

    def to(self, device: Union[str, torch.device]) -> "DensePoseResultList":
        return DensePoseResultList([r.to(device) for r in self.results])

    def to_results(self, boxes: torch.Tensor) -> List[DensePoseResult]:
        """The results themselves: they are already laid over their instances' boxes (the same call as
        `modeling.inference.DensePoseChartPredictions.to_results`, so consumers take either field)."""
        if len(boxes) != len(self):
            raise ValueError(f"DensePoseResultList.to_results: {len(boxes)} boxes for {len(self)} results")
        return list(self.results)

    def __repr__(self) -> str:
        return f"DensePoseResultList(num_results={len(self)})"


def encode(result: DensePoseResult, box: Union[Sequence[float], torch.Tensor, np.ndarray]) -> Dict[str, Any]:
    """JSON-safe dict of `result` laid over `box` (4,) XYXY image px, normally its detection box:
    {"box": [x0, y0, x1, y1], "size": [H, W], "iuv_png": base64 PNG of the H x W x 3 uint8 image
    (I, round(U * 255), round(V * 255))}, plus "confidences": {name: base64 of the H x W little-endian
    float32 values, row-major} when the result has confidences (exact, unlike U and V)."""
    box_values = [float(c) for c in torch.as_tensor(box).flatten().tolist()]
    if len(box_values) != 4:
        raise ValueError(f"encode: box: expected 4 values XYXY, got {len(box_values)}")
    iuv = torch.cat([result.labels[None].float(), (result.uv.float() * 255).round()], dim=0)
    iuv = iuv.clamp(0, 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    buffer = io.BytesIO()
    Image.fromarray(iuv).save(buffer, format="PNG")
    h, w = result.labels.shape
    record = {
        "box": box_values,
        "size": [int(h), int(w)],
        "iuv_png": base64.b64encode(buffer.getvalue()).decode("ascii"),
    }
    if result.confidences:
        record["confidences"] = {name: base64.b64encode(values.float().cpu().numpy().astype("<f4").tobytes()).decode("ascii")
                                 for name, values in result.confidences.items()}
    return record


def _iuv_array(data: Any) -> np.ndarray:
    """(H, W, 3) uint8 of an encoded IUV PNG; UserInputError for what is not a base64 8-bit 3-channel PNG."""
    item = "field 'iuv_png'"
    expected = "a base64 PNG with 3 8-bit channels (I, U, V)"
    if not isinstance(data, str):
        raise UserInputError(RECORD, expected, type(data).__name__, item=item)
    try:
        image = Image.open(io.BytesIO(base64.b64decode(data, validate=True)))
        image.load()
    except (binascii.Error, OSError, Image.DecompressionBombError) as e:  # not base64, not a PNG, cut short
        raise UserInputError(RECORD, expected, f"no readable PNG ({e})", item=item) from e
    if image.format != "PNG" or image.mode != "RGB":
        bands = len(image.getbands())
        raise UserInputError(RECORD, expected, f"a {image.format} of mode {image.mode} ({bands} channel"
                             f"{'s' if bands != 1 else ''}{': no U, V' if bands < 3 else ''})", item=item)
    return np.asarray(image)


def decode(record: Dict[str, Any]) -> Tuple[DensePoseResult, torch.Tensor]:
    """Inverse of `encode`: (result, box (4,) float32 XYXY image px); U, V quantised to multiples of 1/255.
    Raises UserInputError (source RECORD, item the field) on a record that is not of this format: a missing
    field, a box that is not 4 finite numbers, a PNG that is not 8-bit 3-channel (a 1-channel grid has no U/V),
    not of its `size`, or with a part label above 24."""
    expected = "a dict with fields 'box', 'size', 'iuv_png' (docs/FORMAT_results.md)"
    if not isinstance(record, dict):
        raise UserInputError(RECORD, expected, "null: no DensePose data" if record is None else repr(record)[:80])
    for key in ("box", "size", "iuv_png"):
        if key not in record:
            raise UserInputError(RECORD, expected, f"no field {key!r} (has {sorted(record)})")
    box_values = record["box"]
    if not (isinstance(box_values, (list, tuple)) and len(box_values) == 4
            and all(isinstance(v, numbers.Real) and math.isfinite(v) for v in box_values)):
        raise UserInputError(RECORD, "[x0, y0, x1, y1] of 4 finite numbers", repr(box_values)[:80],
                             item="field 'box'")
    box = torch.tensor(box_values, dtype=torch.float32)
    size = record["size"]
    if not (isinstance(size, (list, tuple)) and len(size) == 2
            and all(isinstance(s, numbers.Integral) and s >= 1 for s in size)):
        raise UserInputError(RECORD, "[H, W] of two integers >= 1", repr(size)[:80], item="field 'size'")
    h, w = size
    iuv = _iuv_array(record["iuv_png"])
    if iuv.shape != (h, w, 3):
        raise UserInputError(RECORD, f"a PNG of the record's size {w}x{h} (W x H)",
                             f"{iuv.shape[1]}x{iuv.shape[0]}", item="field 'iuv_png'")
    if iuv[..., 0].max(initial=0) > NUM_FINE_PARTS:
        raise UserInputError(RECORD, f"part labels 0..{NUM_FINE_PARTS} in channel 0 (I)",
                             f"label {int(iuv[..., 0].max())}", item="field 'iuv_png'")
    iuv_t = torch.from_numpy(iuv.copy()).permute(2, 0, 1)
    confidences = {name: torch.from_numpy(np.frombuffer(base64.b64decode(data), "<f4").reshape(h, w).copy())
                   for name, data in record.get("confidences", {}).items()}
    return DensePoseResult(labels=iuv_t[0].contiguous(), uv=iuv_t[1:].float() / 255.0, confidences=confidences), box
