"""Trace a DensePose R-CNN into TorchScript or ONNX with detectron2's export tooling.

`TracingAdapter` (detectron2.export) turns the model into a function of tensors: one preprocessed image
(3, H, W) float32 in the config's INPUT.FORMAT channel order, pixel values 0..255, already resized by the
test-time resize) -> the tuple of outputs.py. `torch.jit.trace` records it; the ONNX file comes from
`torch.onnx.export` of the same adapter with the TorchScript-based exporter (`dynamo=False`): the dynamo
exporter cannot follow detectron2's data-dependent shapes (NMS, per-level ROI assignment).

What the graph holds: backbone, RPN (anchors, top-k, NMS), box head and its NMS, the DensePose pooler, head
(and cascade or decoder) and predictor, i.e. everything up to the raw per-box S x S maps. Not in the graph, and
why: the per-box results (outputs.py: their sizes depend on box values), the test-time resize (a Python
transform of the image), and the rescaling of boxes to the original image (detector_postprocess) - all three
run in Python around the exported file (runtime.py).

Scripting (`scripting_with_instances`) is not used: the DensePose branch keeps its outputs in a dataclass and
a Python-side Instances field, which TorchScript cannot compile, and tracing covers the whole graph.
"""
from __future__ import annotations

import io
import json
import logging
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Tuple

import torch
from detectron2.export import TracingAdapter
from torch import nn

from ..modeling.inference import ChartInferenceRule
from .inputs import ModelInput
from .outputs import flatten_detections, output_names

logger = logging.getLogger(__name__)

FORMATS = ("torchscript", "onnx")
METADATA_FILE = "densepose_export.json"  # TorchScript extra file / ONNX metadata key
ONNX_OPSET = 17  # RoiAlign with half_pixel coordinates (ROIAlignV2, aligned=True) needs >= 16


@dataclass(frozen=True)
class ExportMetadata:
    """What running an exported file needs besides the graph (stored inside the file).

    outputs: names of the graph's outputs (outputs.py). model_input: the preprocessing before the graph.
    foreground_rule, clamp_uv: the labelling rule of outputs.detections_from_outputs. traced_detections: how many
    people the sample image produced while tracing (0 makes a trace of the empty path, see export_model).
    """

    outputs: Tuple[str, ...]
    model_input: ModelInput
    foreground_rule: str
    clamp_uv: bool
    traced_detections: int

    @property
    def rule(self) -> ChartInferenceRule:
        return ChartInferenceRule(self.foreground_rule, self.clamp_uv)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str) -> "ExportMetadata":
        try:
            values = json.loads(text)
            values["outputs"] = tuple(values["outputs"])
            values["model_input"] = ModelInput(**values["model_input"])
            return cls(**values)
        except (ValueError, TypeError, KeyError) as e:
            raise ValueError(f"{source}: {METADATA_FILE} is not valid export metadata ({e}); re-export the model "
                             "with python -m densepose_ext.export") from e


def _inference(model: nn.Module, image: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    """The traced function: (3, H, W) image -> outputs.py tuple (model.inference without its postprocess)."""
    (instances,) = model.inference([{"image": image}], do_postprocess=False)
    return flatten_detections(instances)


def export_model(model: nn.Module, cfg, image: torch.Tensor, fmt: str, output: str | Path) -> ExportMetadata:
    """Trace `model` (eval mode, built from `cfg`) on `image` and write it to `output` in format `fmt`.

    Args:
        image: (3, H, W) float32, `ModelInput.from_config(cfg).preprocess(image_bgr)`: the sample the trace
            follows. Sizes of later inputs may differ (shapes are traced symbolically), but branches taken in
            Python are frozen, so trace an image in which the model finds people.
        fmt: one of FORMATS.
    Returns:
        the metadata written into the file.
    """
    if fmt not in FORMATS:
        raise ValueError(f"--format: expected one of {FORMATS}, got {fmt!r}")
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"sample image: expected a (3, H, W) tensor, got shape {tuple(image.shape)}")
    if model.training:
        raise ValueError("export_model: the model must be in eval mode (model.eval())")
    # eval() on the adapter too: torch.onnx.export restores the adapter's mode afterwards, model included.
    adapter = TracingAdapter(model, (image,), _inference).eval()
    with torch.no_grad():
        (instances,) = model.inference([{"image": image}], do_postprocess=False)
    metadata = ExportMetadata(
        outputs=output_names(instances),
        model_input=ModelInput.from_config(cfg),
        foreground_rule=cfg.MODEL.ROI_DENSEPOSE_HEAD.INFERENCE.FOREGROUND_RULE,
        clamp_uv=bool(cfg.MODEL.ROI_DENSEPOSE_HEAD.INFERENCE.CLAMP_UV),
        traced_detections=len(instances),
    )
    if len(instances) == 0:
        logger.warning("the sample image gave no detection: the trace follows the empty path; give --sample-image "
                       "an image with people")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the tracer's warnings about Python values are expected here (see above)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        if fmt == "torchscript":
            traced = torch.jit.trace(adapter, adapter.flattened_inputs, check_trace=False)
            torch.jit.save(traced, str(output), _extra_files={METADATA_FILE: metadata.to_json()})
        else:
            _export_onnx(adapter, metadata, output)
    return metadata


def _export_onnx(adapter: TracingAdapter, metadata: ExportMetadata, output: Path) -> None:
    import onnx  # optional extra "export" (setup.py)

    buffer = io.BytesIO()
    dynamic_axes = {"image": {1: "height", 2: "width"}, **{name: {0: "detections"} for name in metadata.outputs}}
    torch.onnx.export(adapter, adapter.flattened_inputs, buffer, dynamo=False, opset_version=ONNX_OPSET,
                      input_names=["image"], output_names=list(metadata.outputs), dynamic_axes=dynamic_axes)
    proto = onnx.load_from_string(buffer.getvalue())
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_FILE, metadata.to_json()
    onnx.save(proto, str(output))
