"""Exported (TorchScript, ONNX) vs eager DensePose R-CNN: CPU seconds per image.

    python bench/bench_export.py [--config CFG] [--image IMG] [--repeats 7] [--threads 1]

The CPU recipe with random weights and ROI_HEADS.SCORE_THRESH_TEST 0, so every image carries
TEST.DETECTIONS_PER_IMAGE people through the DensePose head (the worst case; cost does not depend on the
weights). Timed: the model on an image already preprocessed (resized, in memory) up to the raw per-box outputs,
i.e. what the exported graph holds; the Python postprocessing to per-person results is the same code for all
three and is excluded. Median of --repeats after one warm-up, wall-clock and process CPU seconds, with the load
average at the start (the machine may be shared). Prints one JSON line per runtime. ONNX is skipped when
onnxruntime is not installed (optional extra `export`).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _time(fn, repeats: int) -> dict:
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {"wall_s": round(statistics.median(wall), 4), "cpu_s": round(statistics.median(cpu), 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml"))
    parser.add_argument("--image", default=str(REPO / "docs/demo_val_000001.jpg"))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch
    from detectron2.data.detection_utils import read_image
    from detectron2.modeling import build_model

    from densepose_ext.export import ExportedDensePoseModel, ModelInput, export_model
    from densepose_ext.inference_io.predictor import setup_inference_cfg

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = setup_inference_cfg(args.config, "", device="cpu", min_score=0.0)
    model = build_model(cfg).eval()
    image = ModelInput.from_config(cfg).preprocess(read_image(args.image, format="BGR"))
    common = {"config": os.path.relpath(args.config, REPO), "input_hw": list(image.shape[1:]),
              "threads": args.threads, "loadavg_1min": round(os.getloadavg()[0], 2), "machine": platform.machine(),
              "torch": torch.__version__}

    def eager():
        with torch.no_grad():
            return model.inference([{"image": image}], do_postprocess=False)

    people = len(eager()[0])
    print(json.dumps({"runtime": "eager", "people": people, **_time(eager, args.repeats), **common}), flush=True)
    formats = ["torchscript"] + (["onnx"] if importlib.util.find_spec("onnxruntime") else [])
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in formats:
            path = Path(tmp) / ("model.ts" if fmt == "torchscript" else "model.onnx")
            export_model(model, cfg, image, fmt, path)
            exported = ExportedDensePoseModel.load(path)
            if fmt == "onnx":  # onnxruntime sizes its own thread pool: match --threads
                import onnxruntime

                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = options.inter_op_num_threads = args.threads
                session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                names = list(exported.metadata.outputs)
                exported.run = lambda x: session.run(names, {"image": x.numpy()})
            print(json.dumps({"runtime": fmt, "people": len(exported.run(image)[0]),
                              **_time(lambda: exported.run(image), args.repeats), **common}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
