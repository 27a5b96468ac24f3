"""The results file: what DensePoseCOCOEvaluator writes and ``python -m densepose_ext.evaluation`` reads.

A JSON list of detection records, COCO results style, one per detected person::

    {"image_id": int, "category_id": int (the person category of the ground truth),
     "bbox": [x, y, w, h] image px, "score": float,
     "densepose": densepose_ext.structures.results.encode(result, box)}

``densepose`` holds the detection box (XYXY image px, the same box as ``bbox``), the result's size (H, W) and a
base64 PNG of its labels and U, V in the box frame (docs/FORMAT_results.md). U and V are stored as round(255 U):
a result read back differs from the model output by at most 1/510 in chart units.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from densepose_ext.inference_io.atomic import atomic_write_bytes
from densepose_ext.structures.results import DensePoseResult, decode, encode
from densepose_ext.utils.cli_errors import UserInputError
from densepose_ext.utils.json_file import read_json

logger = logging.getLogger(__name__)

_RECORD_FIELDS = {"image_id": int, "category_id": int, "bbox": list, "score": (int, float), "densepose": dict}


def result_records(
    image_id: int,
    category_ids: Sequence[int],
    boxes: np.ndarray,
    scores: np.ndarray,
    results: Sequence[DensePoseResult],
) -> list[dict[str, Any]]:
    """Records of one image's N detections.

    Args:
        category_ids: N dataset category ids; boxes: (N, 4) XYXY image px, the detection boxes (the output image's
            pred_boxes); scores: (N,); results: N results, result k laid over box k.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return [
        {
            "image_id": int(image_id),
            "category_id": int(category_id),
            "bbox": [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])],
            "score": float(score),
            "densepose": encode(result, box),
        }
        for category_id, box, score, result in zip(category_ids, boxes, np.asarray(scores).tolist(), results)
    ]


def check_records(records: Any, source: str) -> list[dict[str, Any]]:
    """Raise UserInputError naming the file, record and field of the first malformed record; return ``records``.
    The ``densepose`` field is only checked to be a dict here (check_densepose decodes it)."""
    if not isinstance(records, list):
        raise UserInputError(source, "a JSON list of detection records", type(records).__name__)
    for k, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise UserInputError(source, "a detection record (a JSON object)", str(rec)[:80], item=f"record {k}")
        if rec.get("densepose", {}) is None:
            raise UserInputError(source, "the detection's DensePose result (docs/FORMAT_results.md)",
                                 "null: a detection without DensePose data", item=f"record {k}: field 'densepose'")
        for field, kind in _RECORD_FIELDS.items():
            if not isinstance(rec.get(field), kind) or isinstance(rec.get(field), bool):
                names = " or ".join(t.__name__ for t in (kind if isinstance(kind, tuple) else (kind,)))
                raise UserInputError(source, f"a JSON {names}", repr(rec.get(field))[:80],
                                     item=f"record {k}: field {field!r}")
        box = rec["bbox"]
        if len(box) != 4 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in box) \
                or box[2] < 0 or box[3] < 0:
            raise UserInputError(source, "[x, y, w, h] of finite numbers with w, h >= 0", repr(box),
                                 item=f"record {k}: field 'bbox'")
        if not math.isfinite(rec["score"]):
            raise UserInputError(source, "a finite score", repr(rec["score"]), item=f"record {k}: field 'score'")
    if not records:
        logger.warning("%s: an empty list of detections: every AP will be 0", source)
    return records


def check_densepose(records: list[dict[str, Any]], source: str) -> None:
    """Decode each record's ``densepose`` (structures.results.decode checks the format: fields, an 8-bit 3-channel
    PNG of the declared size, part labels 0..24); raise UserInputError naming the file and the record."""
    for k, rec in enumerate(records):
        try:
            decode(rec["densepose"])
        except UserInputError as e:
            item = f"record {k}: field 'densepose'" + (f": {e.item}" if e.item else "")
            raise UserInputError(source, e.expected, e.found, item=item) from e


def write_json(path: str, obj: Any) -> None:
    """Write ``obj`` as JSON atomically: a reader sees the old file or the complete new one, never a part."""
    atomic_write_bytes(Path(path), json.dumps(obj).encode("utf-8"))


def load_results(path: str) -> list[dict[str, Any]]:
    """Read and check a results file (every record, its DensePose result decoded)."""
    records = check_records(read_json(path, "a JSON list of detection records (docs/FORMAT_results.md)"), path)
    check_densepose(records, path)
    return records


def decode_arrays(densepose: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A record's ``densepose`` -> box (4,) float64 XYXY image px, labels (H, W) uint8 0..24, uv (2, H, W) float64
    byte / 255 (in float64, as the reference reads its bytes: snapping to chart vertices sees the same values)."""
    result, box = decode(densepose)
    uv = np.rint(result.uv.numpy() * 255.0).astype(np.float64) / 255.0
    return box.numpy().astype(np.float64), result.labels.numpy(), uv
