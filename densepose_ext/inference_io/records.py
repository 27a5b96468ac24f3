"""The per-image dump record in three formats, and reading it back.

A record holds, for one input image or video frame:
    file_name   str    input path (the video file for video frames)
    frame       int    frame index in the video, -1 for image files
    image_size  [H, W] image size in pixels
    boxes       (N, 4) float32 XYXY image px, the frame of each person's DensePose result
    scores      (N,)   float32 detection scores
    per person k: labels (H_k, W_k) uint8 0..24 and uv (2, H_k, W_k) float32 [0, 1] in the box frame
        at box resolution (see densepose_ext/structures/results.py); with a UV-confidence model also its
        confidences (H_k, W_k) float32 by name: sigma_2 (and kappa_u, kappa_v), same frame.

Formats (docs/apply_net.md shows how to read each without densepose_ext):
    npz   numpy alone: np.load(path); keys file_name, frame, image_size, boxes, scores, labels_<k>, uv_<k>
          (and <name>_<k> per confidence, e.g. sigma_2_<k>).
    json  json alone: {"file_name", "frame", "image_size", "boxes", "scores", "densepose": [
          structures.results.encode(result_k, boxes[k]) per person]} (IUV of each box as a base64 PNG, U/V / 255;
          confidences as base64 float32).
    pth   torch alone (torch.load(path, weights_only=True)): the json fields with tensors, "densepose" a
          list of {"labels", "uv", "box", "confidences": {name: tensor}} entries.
"""
from __future__ import annotations

import io
import json
from typing import Any, Callable

import numpy as np
import torch

from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.structures.results import DensePoseResult, decode, encode

FORMATS = ("npz", "json", "pth")


def _results(det: ImageDetections) -> list[DensePoseResult]:
    """The N box-relative results of `det`; result k lies over det.boxes[k]."""
    confidences = det.confidences or ({},) * len(det)
    return [DensePoseResult(torch.from_numpy(lab), torch.from_numpy(uv),
                            {name: torch.from_numpy(values) for name, values in maps.items()})
            for lab, uv, maps in zip(det.labels, det.uv, confidences)]


def _confidences(people: list[dict[str, Any]]) -> tuple[dict[str, np.ndarray], ...]:
    """ImageDetections.confidences of people read back as {"confidences": {name: array}} entries."""
    maps = tuple({name: np.asarray(v, np.float32) for name, v in p.get("confidences", {}).items()} for p in people)
    return maps if any(maps) else ()


def _npz_bytes(file_name: str, frame: int, det: ImageDetections) -> bytes:
    arrays = {"file_name": np.array(file_name), "frame": np.array(frame, np.int64),
              "image_size": np.array(det.image_size, np.int64), "boxes": det.boxes, "scores": det.scores}
    for k, (lab, uv) in enumerate(zip(det.labels, det.uv)):
        arrays[f"labels_{k}"] = lab
        arrays[f"uv_{k}"] = uv
    for k, maps in enumerate(det.confidences):
        arrays.update({f"{name}_{k}": values for name, values in maps.items()})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _json_bytes(file_name: str, frame: int, det: ImageDetections) -> bytes:
    record = {"file_name": file_name, "frame": frame, "image_size": list(det.image_size),
              "boxes": det.boxes.tolist(), "scores": det.scores.tolist(),
              "densepose": [encode(r, box) for r, box in zip(_results(det), det.boxes)]}
    return json.dumps(record).encode("utf-8")


def _pth_bytes(file_name: str, frame: int, det: ImageDetections) -> bytes:
    record = {"file_name": file_name, "frame": frame, "image_size": list(det.image_size),
              "boxes": torch.from_numpy(det.boxes), "scores": torch.from_numpy(det.scores),
              "densepose": [{"labels": r.labels, "uv": r.uv, "box": torch.from_numpy(box),
                             "confidences": r.confidences} for r, box in zip(_results(det), det.boxes)]}
    buffer = io.BytesIO()
    torch.save(record, buffer)
    return buffer.getvalue()


_WRITERS: dict[str, Callable[[str, int, ImageDetections], bytes]] = {
    "npz": _npz_bytes, "json": _json_bytes, "pth": _pth_bytes}


def record_bytes(fmt: str, file_name: str, frame: int, det: ImageDetections) -> bytes:
    """Serialise one record (see the module docstring) in format `fmt` (one of FORMATS)."""
    if fmt not in _WRITERS:
        raise ValueError(f"dump format: expected one of {FORMATS}, got {fmt!r}")
    return _WRITERS[fmt](file_name, frame, det)


def load_record(path: str) -> tuple[dict[str, Any], ImageDetections]:
    """Read a record written by `record_bytes` (format from the extension).

    Returns:
        ({"file_name": str, "frame": int}, ImageDetections). json records come back with U, V
        quantised to multiples of 1/255 (the PNG encoding).
    """
    fmt = str(path).rsplit(".", 1)[-1]
    if fmt == "npz":
        with np.load(path, allow_pickle=False) as z:
            n = len(z["scores"])
            meta = {"file_name": str(z["file_name"]), "frame": int(z["frame"])}
            names = {key[: -len("_0")] for key in z.files if key.endswith("_0")} - {"labels", "uv"}
            people = [{"confidences": {name: z[f"{name}_{k}"] for name in names}} for k in range(n)]
            det = ImageDetections(tuple(int(s) for s in z["image_size"]), z["boxes"], z["scores"],
                                  tuple(z[f"labels_{k}"] for k in range(n)),
                                  tuple(z[f"uv_{k}"] for k in range(n)), _confidences(people))
        return meta, det
    if fmt == "json":
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
        people = [{"labels": r.labels, "uv": r.uv, "confidences": r.confidences}
                  for r, _ in map(decode, record["densepose"])]
    elif fmt == "pth":
        record = torch.load(path, weights_only=True)
        people = record["densepose"]
    else:
        raise ValueError(f"{path}: expected extension one of {FORMATS}, got {fmt!r}")
    meta = {"file_name": record["file_name"], "frame": int(record["frame"])}
    det = ImageDetections(
        tuple(int(s) for s in record["image_size"]),
        np.asarray(record["boxes"], np.float32).reshape(-1, 4),
        np.asarray(record["scores"], np.float32),
        tuple(np.asarray(p["labels"], np.uint8) for p in people),
        tuple(np.asarray(p["uv"], np.float32) for p in people),
        _confidences(people),
    )
    return meta, det
