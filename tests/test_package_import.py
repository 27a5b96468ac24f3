"""`import densepose_ext` registers the plugins and nothing else: no file read, no heavy optional module."""
import json
import subprocess
import sys

PROBE = r"""
import builtins, json, sys
opened = []
real_open = builtins.open
def spy(file, *a, **k):
    opened.append(str(file))
    return real_open(file, *a, **k)
builtins.open = spy
import densepose_ext
builtins.open = real_open
from detectron2.data import DatasetCatalog
from detectron2.modeling import META_ARCH_REGISTRY, ROI_HEADS_REGISTRY
print(json.dumps({
    "opened": [f for f in opened if "densepose_ext" in f and not f.endswith(".py")],
    "heavy": sorted(m for m in ("anny", "av", "numba", "skimage", "gdist") if m in sys.modules),
    "roi_head": "DensePoseROIHeads" in ROI_HEADS_REGISTRY,
    "teacher": "DensePoseTeacher" in META_ARCH_REGISTRY,
    "datasets": sorted(d for d in DatasetCatalog.list() if d.startswith("densepose_")),
}))
"""


def test_import_registers_plugins_without_io():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["opened"] == []
    assert report["heavy"] == []
    assert report["roi_head"] and report["teacher"]
    assert {"densepose_synth_train", "densepose_synth_val"} <= set(report["datasets"])
