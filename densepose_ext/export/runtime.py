"""Run an exported file (TorchScript with torch, ONNX with onnxruntime) like the eager model.

    model = ExportedDensePoseModel.load("model.ts")     # or "model.onnx"
    instances = model(image_bgr)                          # (H, W, 3) uint8 BGR, original image
    results = instances.pred_densepose.to_results(instances.pred_boxes.tensor)

Around the file it does what trace.py leaves out of the graph: the test-time resize (detectron2's
ResizeShortestEdge with the stored MIN_SIZE_TEST / MAX_SIZE_TEST) and channel order before, and
outputs.detections_from_outputs after.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence, Tuple

import numpy as np
import torch
from detectron2.structures import Instances

from .outputs import detections_from_outputs
from .trace import METADATA_FILE, ExportMetadata

RunFn = Callable[[torch.Tensor], Sequence[torch.Tensor]]


class ExportedDensePoseModel:
    """An exported DensePose R-CNN: `__call__` takes an original BGR image and returns Instances in its frame."""

    def __init__(self, run: RunFn, metadata: ExportMetadata):
        """run: (3, H, W) preprocessed image -> tensors of metadata.outputs (outputs.py)."""
        self.run = run
        self.metadata = metadata

    @classmethod
    def load(cls, path: str | Path) -> "ExportedDensePoseModel":
        """Load a .ts/.pt (TorchScript) or .onnx file written by `python -m densepose_ext.export`."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"exported model {path}: no such file")
        if path.suffix == ".onnx":
            return cls(*_load_onnx(path))
        return cls(*_load_torchscript(path))

    def run_preprocessed(self, image: torch.Tensor, output_size: Tuple[int, int]) -> Instances:
        """(3, H, W) preprocessed image -> Instances rescaled to `output_size` (H, W)."""
        outputs = self.run(image)
        return detections_from_outputs(outputs, self.metadata.outputs, tuple(image.shape[1:]), output_size,
                                       self.metadata.rule)

    def __call__(self, image_bgr: np.ndarray) -> Instances:
        """(H, W, 3) uint8 BGR original image -> Instances in its frame (see outputs.detections_from_outputs)."""
        return self.run_preprocessed(self.metadata.model_input.preprocess(image_bgr), image_bgr.shape[:2])


def _load_torchscript(path: Path) -> Tuple[RunFn, ExportMetadata]:
    extra = {METADATA_FILE: ""}
    try:
        module = torch.jit.load(str(path), _extra_files=extra)
    except RuntimeError as e:
        raise ValueError(f"{path}: not a TorchScript file ({e})") from e
    if not extra[METADATA_FILE]:
        raise ValueError(f"{path}: TorchScript file without {METADATA_FILE}; export it with "
                         "python -m densepose_ext.export")
    metadata = ExportMetadata.from_json(extra[METADATA_FILE], str(path))

    def run(image: torch.Tensor) -> Sequence[torch.Tensor]:
        with torch.no_grad():
            return module(image)

    return run, metadata


def _load_onnx(path: Path) -> Tuple[RunFn, ExportMetadata]:
    try:
        import onnxruntime
    except ImportError as e:
        raise ImportError(f"{path}: running ONNX files needs onnxruntime: pip install -e '.[export]'") from e
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    stored = session.get_modelmeta().custom_metadata_map.get(METADATA_FILE)
    if stored is None:
        raise ValueError(f"{path}: ONNX file without the {METADATA_FILE} metadata; export it with "
                         "python -m densepose_ext.export")
    metadata = ExportMetadata.from_json(stored, str(path))

    def run(image: torch.Tensor) -> Sequence[torch.Tensor]:
        arrays = session.run(list(metadata.outputs), {"image": image.numpy()})
        return [torch.from_numpy(a) for a in arrays]

    return run, metadata
