"""Which body surface a dataset's (I, U, V) live on: `MetadataCatalog.get(name).densepose_surface`.

Set at registration (datasets.py): densepose_synth_* -> SurfaceSource("anny"), densepose_coco_* ->
SurfaceSource("smpl") (the SMPL files in $DENSEPOSE_SMPL_DIR); `register_densepose_coco(..., surface=...)` for
the user's own datasets. For a dataset registered without one (e.g. with detectron2's `register_coco_instances`)
the config names it: DATASETS.DENSEPOSE_SURFACE ("anny" | "smpl") and DATASETS.DENSEPOSE_SURFACE_DIR.

Every consumer that interprets U/V (the mapper's flip, the evaluator's geodesics, the teacher's accuracy)
asks here; there is no process-wide default to fall back to. One run trains on one surface: datasets with
different surfaces in DATASETS.TRAIN are refused.
"""
from __future__ import annotations

from typing import Optional, Sequence

from detectron2.data import MetadataCatalog

from densepose_ext.surface.source import SURFACE_BACKENDS, SurfaceSource

METADATA_KEY = "densepose_surface"
CONFIG_KEY = "DATASETS.DENSEPOSE_SURFACE"
CONFIG_DIR_KEY = "DATASETS.DENSEPOSE_SURFACE_DIR"


def configured_surface(cfg) -> Optional[SurfaceSource]:
    """The surface DATASETS.DENSEPOSE_SURFACE(_DIR) names, or None when the key is empty (or absent: a config
    without the DensePose keys)."""
    backend = cfg.DATASETS.get("DENSEPOSE_SURFACE", "")
    directory = cfg.DATASETS.get("DENSEPOSE_SURFACE_DIR", "")
    if not backend:
        if directory:
            raise ValueError(f"{CONFIG_DIR_KEY}: set to {directory!r} but {CONFIG_KEY} is empty; expected "
                             f"{CONFIG_KEY} to name the backend, one of {SURFACE_BACKENDS}")
        return None
    if backend not in SURFACE_BACKENDS:
        raise ValueError(f"{CONFIG_KEY}: expected one of {SURFACE_BACKENDS} (or empty: the datasets' registered "
                         f"surface), got {backend!r}")
    return SurfaceSource(backend, directory or None)


def dataset_surface(dataset_name: str, cfg=None) -> SurfaceSource:
    """The surface of one registered dataset: its metadata's, else the config's (`cfg` may be None).

    Raises ValueError when neither names one, or when the config names another surface than the registration
    (U/V annotated on one surface mean nothing on another).
    """
    registered = MetadataCatalog.get(dataset_name).get(METADATA_KEY, None)
    configured = configured_surface(cfg) if cfg is not None else None
    if registered is None and configured is None:
        raise ValueError(f"dataset {dataset_name!r}: no body surface: its metadata has no '{METADATA_KEY}' and "
                         f"{CONFIG_KEY} is empty; register it with register_densepose_coco(..., surface=...) or set "
                         f"{CONFIG_KEY} to one of {SURFACE_BACKENDS}")
    if registered is not None and configured is not None and registered != configured:
        raise ValueError(f"{CONFIG_KEY}: dataset {dataset_name!r} is registered on the {registered} surface, the "
                         f"config names {configured}; expected the same surface or an empty {CONFIG_KEY}")
    return registered if registered is not None else configured


def datasets_surface(dataset_names: Sequence[str], cfg=None) -> SurfaceSource:
    """The one surface shared by `dataset_names` (e.g. DATASETS.TRAIN); ValueError when they differ or are none."""
    if not dataset_names:
        raise ValueError("no dataset named: expected at least one dataset whose body surface the run uses")
    sources = {name: dataset_surface(name, cfg) for name in dataset_names}
    if len(set(sources.values())) > 1:
        listing = ", ".join(f"{name}: {source}" for name, source in sources.items())
        raise ValueError(f"datasets on different body surfaces in one run ({listing}): their (I, U, V) cannot be "
                         "mixed (one flip, one set of charts); expected datasets that share one surface")
    return next(iter(sources.values()))
