"""Densification: run the teacher over a dataset and write dense I/U/V labels inside every person mask.

Each annotated person with a coarse part mask (`dp_masks`) is labelled in the crop frame of its annotation box
(labels.py), inside its mask: by the teacher (`TeacherLabeller`), as a baseline by the nearest annotated point
(nearest.py), or, on DensePose-Synth, by the exact dense truth (truth.py). Images are processed in image-id order;
an image whose shard exists is skipped, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, List, Sequence, Tuple

import numpy as np
import torch
from detectron2.data import detection_utils
from tqdm import tqdm

from densepose_ext.data import densepose_targets_from_annotation
from densepose_ext.inference_io.atomic import atomic_write_bytes, remove_stale_temporaries
from densepose_ext.structures.targets import DensePoseTargets
from densepose_ext.utils.cli_errors import UserInputError

from .labels import done_image_ids, merge_index, write_image_labels
from .model import DensePoseTeacher

RUN_FILE = "densify_config.json"
# (dataset dict, N people) -> (N, S, S) uint8 labels, (N, 2, S, S) float32 uv; plus crop_size and settings.
Labeller = Callable[[dict, Sequence[DensePoseTargets]], Tuple[np.ndarray, np.ndarray]]


class DensifyResumeError(UserInputError):
    """An existing output directory was written with other settings."""


def _check_run(out_dir: Path, settings: dict) -> None:
    """Record the run's settings, or refuse to resume a directory written with different ones."""
    path = out_dir / RUN_FILE
    if path.is_file():
        before = json.loads(path.read_text())
        if before != settings:
            raise DensifyResumeError(path, f"the settings this directory was densified with, {before}",
                                     f"{settings}; use another --out or delete it")
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


class TeacherLabeller:
    """Labels people with the teacher: reads the image, crops each person at its annotation box (model.py)."""

    def __init__(self, model: DensePoseTeacher, image_format: str, weights: str = ""):
        self.model = model.eval()
        self.image_format = image_format
        self.crop_size = model.crop_size
        self.settings = {"labeller": "teacher", "weights": str(weights), "crop_size": model.crop_size}

    @torch.no_grad()
    def __call__(self, dataset_dict: dict, people: Sequence[DensePoseTargets]) -> Tuple[np.ndarray, np.ndarray]:
        """(N, S, S) uint8 labels and (N, 2, S, S) float32 uv of the N people, crop frames of their boxes."""
        image = detection_utils.read_image(dataset_dict["file_name"], format=self.image_format)
        image = torch.as_tensor(np.ascontiguousarray(image.transpose(2, 0, 1)))
        boxes = torch.stack([t.mask_box for t in people])
        pred = self.model.predict_people(image, boxes, torch.stack([t.coarse_masks for t in people]), boxes)
        return pred["labels"].cpu().numpy(), pred["uv"].cpu().numpy()


def densify_dataset(
    labeller: Labeller, dataset_dicts: Sequence[dict], out_dir: str, *, dataset_name: str, progress: bool = True
) -> dict:
    """Write the dense labels of `dataset_dicts` (detectron2 dataset dicts with annotation `id`s) to `out_dir`.

    Args:
        labeller: `TeacherLabeller`, `nearest.NearestPointLabeller` or `truth.DenseTruthLabeller`: called with a dataset dict and its people
            (DensePoseTargets with coarse masks, image px), returns their labels in the crop frames of their
            `mask_box`; has `crop_size` and `settings` (recorded for resume).
    Returns the merged index (labels.py). Raises DensifyResumeError when `out_dir` holds another run.
    """
    out = Path(out_dir)
    _check_run(out, {"dataset": dataset_name, **labeller.settings})
    remove_stale_temporaries(out)
    done = done_image_ids(out)
    todo = sorted((d for d in dataset_dicts if d["image_id"] not in done), key=lambda d: d["image_id"])
    for dataset_dict in tqdm(todo, desc="densify", unit="image", disable=not progress):
        people = _people(dataset_dict)
        entries = {}
        if people:
            labels, uv = labeller(dataset_dict, [t for _, t in people])
            entries = {
                ann_id: {"box": t.mask_box.tolist(), "labels": labels[k], "uv": uv[k]}
                for k, (ann_id, t) in enumerate(people)
            }
        write_image_labels(out, dataset_dict["image_id"], entries)
    return merge_index(out, labeller.crop_size, dataset_name)
