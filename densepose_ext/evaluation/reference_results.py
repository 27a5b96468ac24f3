"""The reference evaluator's stored results as evaluation input, so existing reference results can be scored here.

Two forms of the same detections (tests/data/golden/evaluator/README.md describes both):

- ``coco_densepose_predictions.pth``, what the reference's ``DensePoseCOCOEvaluator`` writes: ``torch.save`` of a
  list of dicts {"image_id", "category_id" (contiguous: 0 = person), "bbox" [x, y, w, h], "score", "densepose": a
  ``DensePoseChartResultQuantized`` with one field ``labels_uv_uint8``, uint8 [3, H, W] = (part 0..24, byte U,
  byte V), H = int(h), W = int(w), cell (r, c) on image pixel (int(y) + r, int(x) + c), U = byte / 255}. Read here
  without torch and without the reference's classes: only the four globals such a file refers to are accepted
  (a pickle can otherwise run arbitrary code).
- ``.npz`` with the same numbers as plain arrays (no pickle): image_id, category_id, bbox, score,
  labels_uv_uint8_shape (n, 3), labels_uv_uint8_offset (n + 1,), labels_uv_uint8_flat.

Both become results-file records (results_file.py) whose "densepose" is {"labels_uv_uint8": (3, H, W) uint8} and
whose category is the ground truth's person category.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from densepose_ext.evaluation.results_file import check_records, load_results
from densepose_ext.utils.cli_errors import UserInputError

REFERENCE_SUFFIXES = (".pth", ".npz")
GRID_KEY = "labels_uv_uint8"


class _QuantizedResult:
    """Stands in for densepose.structures.chart_result.DensePoseChartResultQuantized (a dataclass, rebuilt with
    NEWOBJ and no arguments, then BUILD with its field dict)."""

    def __setstate__(self, state: dict) -> None:
        self.state = state


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple, stride: tuple, *_: Any) -> np.ndarray:
    """torch._utils._rebuild_tensor_v2 for a CPU byte storage, as a numpy copy."""
    strides = [s * storage.itemsize for s in stride]
    return np.lib.stride_tricks.as_strided(storage[offset:], tuple(size), strides).copy()


_PTH_GLOBALS = {
    ("densepose.structures.chart_result", "DensePoseChartResultQuantized"): _QuantizedResult,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch", "ByteStorage"): np.uint8,
    ("collections", "OrderedDict"): dict,
}


def _load_pth(path: Path) -> list:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise UserInputError(path, "a torch.save zip archive (coco_densepose_predictions.pth)", str(err)) from err
    with archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise UserInputError(path, "one '<name>/data.pkl' in the archive", str(pickles))
        root = pickles[0][: -len("data.pkl")]

        class Unpickler(pickle.Unpickler):
            def find_class(self, module: str, name: str) -> Any:
                if (module, name) not in _PTH_GLOBALS:
                    raise UserInputError(path, f"the reference's DensePose results (globals "
                                         f"{sorted('.'.join(k) for k in _PTH_GLOBALS)})", f"{module}.{name}")
                return _PTH_GLOBALS[(module, name)]

            def persistent_load(self, pid: tuple) -> np.ndarray:  # ("storage", dtype, key, location, numel)
                if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
                    raise UserInputError(path, "tensor storages ('storage', type, key, device, size)", repr(pid))
                _, dtype, key, _, numel = pid
                return np.frombuffer(archive.read(f"{root}data/{key}"), dtype)[:numel]

        return Unpickler(io.BytesIO(archive.read(pickles[0]))).load()


def _pth_records(path: Path) -> list[dict[str, Any]]:
    out = []
    for k, rec in enumerate(_load_pth(path)):
        result = rec.get("densepose") if isinstance(rec, dict) else None
        if not isinstance(result, _QuantizedResult) or GRID_KEY not in result.state:
            raise UserInputError(path, f"a DensePoseChartResultQuantized with {GRID_KEY}", type(result).__name__,
                                 item=f"record {k}: field 'densepose'")
        out.append(dict(rec, densepose={GRID_KEY: result.state[GRID_KEY]}))
    return out


def _npz_records(path: Path) -> list[dict[str, Any]]:
    with np.load(path) as z:
        fields = ("image_id", "category_id", "bbox", "score", "labels_uv_uint8_shape", "labels_uv_uint8_offset",
                  "labels_uv_uint8_flat")
        missing = [f for f in fields if f not in z.files]
        if missing:
            raise UserInputError(path, f"arrays {list(fields)}", f"{missing} missing (has {sorted(z.files)})")
        a = {f: z[f] for f in fields}
    offsets, shapes = a["labels_uv_uint8_offset"], a["labels_uv_uint8_shape"]
    if len(offsets) != len(a["image_id"]) + 1 or offsets[-1] != len(a["labels_uv_uint8_flat"]):
        raise UserInputError(path, f"{len(a['image_id']) + 1} offsets ending at {len(a['labels_uv_uint8_flat'])}",
                             f"{len(offsets)} ending at {offsets[-1]}", item="array 'labels_uv_uint8_offset'")
    return [
        {"image_id": int(a["image_id"][k]), "category_id": int(a["category_id"][k]), "bbox": a["bbox"][k].tolist(),
         "score": float(a["score"][k]),
         "densepose": {GRID_KEY: a["labels_uv_uint8_flat"][offsets[k]: offsets[k + 1]].reshape(shapes[k])}}
        for k in range(len(a["image_id"]))
    ]


def _check_grid(rec: dict[str, Any], k: int, source: Path) -> None:
    grid = rec["densepose"][GRID_KEY]
    if not isinstance(grid, np.ndarray) or grid.dtype != np.uint8 or grid.ndim != 3 or grid.shape[0] != 3:
        raise UserInputError(source, "uint8 [3, H, W]", f"{getattr(grid, 'dtype', type(grid).__name__)} "
                             f"{getattr(grid, 'shape', '')}", item=f"record {k}: field '{GRID_KEY}'")
    if grid[0].max(initial=0) > 24:
        raise UserInputError(source, "part labels 0..24 in channel 0", f"up to {grid[0].max()}",
                             item=f"record {k}: field '{GRID_KEY}'")


def load_reference_results(path: str, person_category_id: int) -> list[dict[str, Any]]:
    """Records (results_file.py) from the reference's stored results, a ``.pth`` or ``.npz`` (module docstring).

    Args:
        person_category_id: the ground truth's person category; the reference stores contiguous id 0 for it.
    """
    source = Path(path)
    records = _npz_records(source) if source.suffix == ".npz" else _pth_records(source)
    for k, rec in enumerate(records):
        if rec.get("category_id") != 0:
            raise UserInputError(source, "0 (the contiguous id of the person class)", repr(rec.get("category_id")),
                                 item=f"record {k}: field 'category_id'")
        rec["category_id"] = person_category_id
        rec["bbox"] = [float(v) for v in rec["bbox"]]
    check_records(records, str(source))
    for k, rec in enumerate(records):
        _check_grid(rec, k, source)
    return records


def reference_grid_arrays(bbox_xywh: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A reference grid as results_file.decode_arrays returns a result: box (4,) XYXY image px of the cells
    (int(x), int(y), int(x) + W, int(y) + H), labels (H, W) uint8, uv (2, H, W) float64 byte / 255."""
    x0, y0 = float(int(bbox_xywh[0])), float(int(bbox_xywh[1]))
    box = np.array([x0, y0, x0 + grid.shape[2], y0 + grid.shape[1]], dtype=np.float64)
    return box, grid[0], grid[1:].astype(np.float64) / 255.0


def load_any_results(path: str, person_category_id: int) -> list[dict[str, Any]]:
    """Records from a results file of either kind: the reference's (``.pth``, ``.npz``) or ours (JSON)."""
    if Path(path).suffix in REFERENCE_SUFFIXES:
        return load_reference_results(path, person_category_id)
    return load_results(path)
