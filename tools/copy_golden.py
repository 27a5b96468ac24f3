"""Copy the reference's golden fixtures (../shared/golden, see its README.md) into tests/data/golden.

The suite must run without ../shared, in a few MB, so the copy drops what is duplicated or not needed:
- `inputs.npz` is identical in every family: one copy, `tests/data/golden/inputs.npz`.
- the training batch (annotations, proposals, images) is identical for s1x and legacy: one copy in
  `tests/data/golden/train_batch/`; each family keeps its own `train_batch/losses.json`.
- `head_outputs.npz` is kept whole for s1x and legacy (raw outputs of all 3 images and the converter results
  on the given boxes); for the other families only image 0's arrays are kept (`img0_*`: 2 boxes), because
  their `results.npz` already covers the converter and image 0 alone pins every raw output channel.
Everything else is copied byte for byte; the source's sha256 of every file lands in `tests/data/golden/SOURCE.json`.

Usage: python tools/copy_golden.py [--src ../shared/golden] [--dst tests/data/golden]
"""

import argparse
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

FULL_HEAD_OUTPUTS = ("densepose_rcnn_R_50_FPN_s1x", "densepose_rcnn_R_50_FPN_s1x_legacy")
FAMILIES = FULL_HEAD_OUTPUTS + (
    "densepose_rcnn_R_50_FPN_WC1_s1x",
    "densepose_rcnn_R_50_FPN_WC2_s1x",
    "densepose_rcnn_R_50_FPN_DL_s1x",
    "densepose_rcnn_R_50_FPN_DL_WC1_s1x",
)
FAMILY_FILES = ("config.yaml", "overrides.txt", "model.pkl", "results.npz", "results_summary.json")
SHARED_TRAIN_BATCH = ("annotations.json", "proposals.json", "images/000003.png", "images/000005.png")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_identical(sources: list, dst: Path) -> None:
    """Copy one file that must be byte-identical in every source (else the dedup would lose data)."""
    digests = {sha256(p) for p in sources}
    if len(digests) != 1:
        raise ValueError(f"expected identical files, got {len(digests)} versions: {[str(p) for p in sources]}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sources[0], dst)


def copy_head_outputs(src: Path, dst: Path, keep_all: bool) -> None:
    """Copy head_outputs.npz, keeping only image 0's arrays unless `keep_all`."""
    if keep_all:
        shutil.copyfile(src, dst)
        return
    with np.load(src) as z:
        np.savez_compressed(dst, **{k: z[k] for k in z.files if k.startswith("img0_")})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "golden")
    parser.add_argument("--dst", type=Path, default=Path(__file__).resolve().parents[1] / "tests" / "data" / "golden")
    args = parser.parse_args()
    src, dst = args.src.resolve(), args.dst
    source_digests = {}
    copy_identical([src / f / "inputs.npz" for f in FAMILIES], dst / "inputs.npz")
    for name in SHARED_TRAIN_BATCH:
        copy_identical([src / f / "train_batch" / name for f in FULL_HEAD_OUTPUTS], dst / "train_batch" / name)
    for family in FAMILIES:
        (dst / family).mkdir(parents=True, exist_ok=True)
        for name in FAMILY_FILES:
            shutil.copyfile(src / family / name, dst / family / name)
        copy_head_outputs(src / family / "head_outputs.npz", dst / family / "head_outputs.npz", family in FULL_HEAD_OUTPUTS)
        if family in FULL_HEAD_OUTPUTS:
            (dst / family / "train_batch").mkdir(exist_ok=True)
            shutil.copyfile(src / family / "train_batch" / "losses.json", dst / family / "train_batch" / "losses.json")
        for path in sorted((src / family).rglob("*")):
            if path.is_file():
                source_digests[str(path.relative_to(src))] = sha256(path)
    (dst / "SOURCE.json").write_text(json.dumps({"source": "../shared/golden", "sha256": source_digests}, indent=1) + "\n")


if __name__ == "__main__":
    main()
