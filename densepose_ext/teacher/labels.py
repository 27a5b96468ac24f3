"""Densified labels on disk: the teacher's dense I/U/V of every annotated person, one small PNG each.

Layout of a labels directory DIR (written by densify.py, read by the student's mapper):

    DIR/labels/<annotation id>.png   S x S 8-bit RGB: R = I (0..24, 0 outside the person), G = round(255 U),
                                     B = round(255 V), in the crop frame of the annotation box: cell (r, c)
                                     covers box-256 [(c) 256 / S, (c + 1) 256 / S) x [(r) 256 / S, (r + 1) 256 / S)
    DIR/shards/<image id>.json       the image's entries, written after its PNGs (marks the image done: resume)
    DIR/index.json                   {"crop_size": S, "dataset": name, "annotations": {"<id>": {"image_id",
                                     "box": [x0, y0, x1, y1] image px, "file": "labels/<id>.png"}}}

Every file is written atomically (temporary + rename).
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from PIL import Image

from densepose_ext.inference_io.atomic import atomic_write_bytes

INDEX_FILE = "index.json"
LABELS_DIR = "labels"
SHARDS_DIR = "shards"


def stack_person_labels(per_person: Sequence[Tuple[np.ndarray, np.ndarray]]) -> Tuple[np.ndarray, np.ndarray]:
    """N people's ((S, S) labels, (2, S, S) uv) -> (N, S, S) labels and (N, 2, S, S) uv, as a Labeller returns."""
    return np.stack([labels for labels, _ in per_person]), np.stack([uv for _, uv in per_person])


def encode_iuv_png(labels: np.ndarray, uv: np.ndarray) -> bytes:
    """(S, S) uint8 labels and (2, S, S) float chart [0, 1] -> PNG bytes of the (S, S, 3) IUV image."""
    iuv = np.concatenate([labels[None], np.round(np.clip(uv, 0.0, 1.0) * 255.0)], axis=0).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(iuv.transpose(1, 2, 0)), mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def write_image_labels(out_dir: Path, image_id: int, entries: Dict[int, dict]) -> None:
    """Write one image's labels: `entries` maps annotation id -> {"box": (4,), "labels": (S, S), "uv": (2, S, S)}.
    The shard goes last, so an interrupted image is redone on resume."""
    shard = {}
    for ann_id, entry in entries.items():
        file = f"{LABELS_DIR}/{ann_id}.png"
        atomic_write_bytes(out_dir / file, encode_iuv_png(entry["labels"], entry["uv"]))
        shard[str(ann_id)] = {"image_id": int(image_id), "box": [float(c) for c in entry["box"]], "file": file}
    atomic_write_bytes(out_dir / SHARDS_DIR / f"{image_id}.json", json.dumps(shard).encode("utf-8"))


def done_image_ids(out_dir: Path) -> set:
    """Image ids whose shard exists (complete images of an earlier run)."""
    shards = out_dir / SHARDS_DIR
    return {int(p.stem) for p in shards.glob("*.json")} if shards.is_dir() else set()


def merge_index(out_dir: Path, crop_size: int, dataset: str) -> dict:
    """Merge every shard into DIR/index.json (sorted by annotation id) and return the index."""
    annotations = {}
    for path in sorted((out_dir / SHARDS_DIR).glob("*.json")):
        annotations.update(json.loads(path.read_text()))
    index = {
        "crop_size": crop_size,
        "dataset": dataset,
        "annotations": dict(sorted(annotations.items(), key=lambda kv: int(kv[0]))),
    }
    atomic_write_bytes(out_dir / INDEX_FILE, json.dumps(index).encode("utf-8"))
    return index


class DenseLabels:
    """Read access to a labels directory (the index is read once; PNGs on demand)."""

    def __init__(self, root: str):
        self.root = Path(root)
        index_path = self.root / INDEX_FILE
        if not index_path.is_file():
            raise FileNotFoundError(
                f"dense teacher labels: expected {index_path} (written by `python -m densepose_ext.teacher densify "
                f"--out {self.root}`), which does not exist"
            )
        index = json.loads(index_path.read_text())
        self.crop_size: int = int(index["crop_size"])
        self.dataset: str = index.get("dataset", "")
        self.entries: Dict[int, dict] = {int(k): v for k, v in index["annotations"].items()}

    def __len__(self) -> int:
        return len(self.entries)

    def iuv(self, annotation_id: int) -> Optional[np.ndarray]:
        """(S, S, 3) uint8 IUV of the annotation (crop frame), or None when it has no dense labels."""
        entry = self.entries.get(int(annotation_id))
        if entry is None:
            return None
        iuv = np.asarray(Image.open(self.root / entry["file"]).convert("RGB"))
        if iuv.shape != (self.crop_size, self.crop_size, 3):
            raise ValueError(
                f"{self.root / entry['file']}: expected an RGB image of {self.crop_size}x{self.crop_size} "
                f"(index.json crop_size), got shape {iuv.shape}"
            )
        return iuv


def sample_box256_points(
    iuv: np.ndarray, num_points: int, generator: Optional[torch.Generator] = None
) -> Dict[str, list]:
    """Up to `num_points` labelled cells of an (S, S, 3) IUV crop, drawn uniformly without replacement, as
    DensePose-COCO point fields in the box-256 frame (cell centres): {"dp_x", "dp_y", "dp_I", "dp_U", "dp_V"}.
    `generator` None draws from torch's global generator (which detectron2 seeds per data-loader worker)."""
    size = iuv.shape[0]
    rows, cols = np.nonzero(iuv[..., 0] > 0)
    pick = torch.randperm(len(rows), generator=generator)[:num_points].numpy()
    rows, cols = rows[pick], cols[pick]
    scale = 256.0 / size
    return {
        "dp_x": ((cols + 0.5) * scale).tolist(),
        "dp_y": ((rows + 0.5) * scale).tolist(),
        "dp_I": iuv[rows, cols, 0].astype(np.float64).tolist(),
        "dp_U": (iuv[rows, cols, 1] / 255.0).tolist(),
        "dp_V": (iuv[rows, cols, 2] / 255.0).tolist(),
    }
