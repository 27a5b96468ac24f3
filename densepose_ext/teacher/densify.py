"""Densification: run the teacher over a dataset and write dense I/U/V labels inside every person mask.

Each annotated person with a coarse part mask (`dp_masks`) is cropped at its annotation box, and the teacher's
labels inside the mask are written in the crop frame (labels.py). Images are processed in image-id order;
an image whose shard exists is skipped, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Sequence

import numpy as np
import torch
from detectron2.data import detection_utils
from tqdm import tqdm

from densepose_ext.data import densepose_targets_from_annotation
from densepose_ext.inference_io.atomic import atomic_write_bytes, remove_stale_temporaries

from .labels import done_image_ids, merge_index, write_image_labels
from .model import DensePoseTeacher

RUN_FILE = "densify_config.json"


class DensifyResumeError(ValueError):
    """An existing output directory was written with other settings."""


def _check_run(out_dir: Path, settings: dict) -> None:
    """Record the run's settings, or refuse to resume a directory written with different ones."""
    path = out_dir / RUN_FILE
    if path.is_file():
        before = json.loads(path.read_text())
        if before != settings:
            raise DensifyResumeError(
                f"{path}: this directory was densified with {before}, now asked for {settings}; "
                f"use another --out or delete it"
            )
    else:
        atomic_write_bytes(path, json.dumps(settings, sort_keys=True).encode("utf-8"))


def _people(dataset_dict: dict) -> List[tuple]:
    """(annotation id, DensePoseTargets) of the non-crowd people with a coarse mask, in annotation order."""
    people = []
    for anno in dataset_dict.get("annotations", []):
        if anno.get("iscrowd", 0) or "dp_masks" not in anno:
            continue
        if "id" not in anno:
            raise ValueError(f"{dataset_dict.get('file_name')}: annotation without field 'id'; dense labels are "
                             f"stored per annotation id")
        people.append((int(anno["id"]), densepose_targets_from_annotation(anno)))
    return people


@torch.no_grad()
def densify_dataset(
    model: DensePoseTeacher,
    dataset_dicts: Sequence[dict],
    out_dir: str,
    *,
    dataset_name: str,
    image_format: str,
    weights: str = "",
    progress: bool = True,
) -> dict:
    """Write the dense labels of `dataset_dicts` (detectron2 dataset dicts with annotation `id`s) to `out_dir`.

    Returns the merged index (labels.py). Raises DensifyResumeError when `out_dir` holds another run.
    """
    out = Path(out_dir)
    _check_run(out, {"dataset": dataset_name, "weights": str(weights), "crop_size": model.crop_size})
    remove_stale_temporaries(out)
    done = done_image_ids(out)
    todo = sorted((d for d in dataset_dicts if d["image_id"] not in done), key=lambda d: d["image_id"])
    model.eval()
    for dataset_dict in tqdm(todo, desc="densify", unit="image", disable=not progress):
        people = _people(dataset_dict)
        entries = {}
        if people:
            image = detection_utils.read_image(dataset_dict["file_name"], format=image_format)
            image = torch.as_tensor(np.ascontiguousarray(image.transpose(2, 0, 1)))
            boxes = torch.stack([t.mask_box for _, t in people])
            masks = torch.stack([t.coarse_masks for _, t in people])
            pred = model.predict_people(image, boxes, masks, boxes)
            labels, uv = pred["labels"].cpu().numpy(), pred["uv"].cpu().numpy()
            entries = {
                ann_id: {"box": boxes[k].tolist(), "labels": labels[k], "uv": uv[k]}
                for k, (ann_id, _) in enumerate(people)
            }
        write_image_labels(out, dataset_dict["image_id"], entries)
    return merge_index(out, model.crop_size, dataset_name)
