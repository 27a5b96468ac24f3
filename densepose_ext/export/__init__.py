"""Export of a DensePose R-CNN to TorchScript or ONNX, and running the exported file like the eager model.

    python -m densepose_ext.export --config-file CFG --weights W --format torchscript|onnx --output FILE \
        [--sample-image IMG]

    from densepose_ext.export import ExportedDensePoseModel
    instances = ExportedDensePoseModel.load(FILE)(image_bgr)   # Instances in the original image's frame
    results = instances.pred_densepose.to_results(instances.pred_boxes.tensor)

Modules: inputs.py (preprocessing outside the graph), outputs.py (the graph's output tuple and the small
postprocessing to Instances), trace.py (detectron2's TracingAdapter + torch.jit.trace / torch.onnx.export; what
the graph holds and what it cannot, and why), runtime.py (loading and running a file), __main__.py (the CLI).
ONNX needs the optional extra `export` (onnx, onnxscript, onnxruntime); nothing here imports them until used.
"""
from .inputs import ModelInput
from .outputs import detections_from_outputs
from .runtime import ExportedDensePoseModel
from .trace import FORMATS, ExportMetadata, export_model

__all__ = ["FORMATS", "ExportMetadata", "ExportedDensePoseModel", "ModelInput", "detections_from_outputs",
           "export_model"]
