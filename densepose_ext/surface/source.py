"""SurfaceSource: names the body surface a dataset's (I, U, V) live on, as dataset metadata holds it.

A dataset's U/V are chart coordinates of one particular body surface: DensePose-Synth is rendered on the anny
surface, DensePose-COCO was annotated on the SMPL-based charts. Everything that interprets (I, U, V) (the
training flip, geodesics in the evaluator, the teacher's accuracy) must use that surface, so the surface is
part of the dataset's registration (``MetadataCatalog.get(name).densepose_surface``, data/dataset_surface.py)
instead of a process-wide default.

    SurfaceSource("anny")                  # the committed anny asset
    SurfaceSource("smpl")                  # SMPL geometry files in $DENSEPOSE_SMPL_DIR (read at load())
    SurfaceSource("smpl", "/data/smpl")    # ... in that directory
    surface = source.load()                # BodySurface, cached per (backend, directory)

The value is small, frozen and picklable (dataloader workers, detectron2 metadata); nothing is read until
``load()``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

SURFACE_BACKENDS = ("anny", "smpl")


@dataclass(frozen=True)
class SurfaceSource:
    """A body surface by backend and data directory.

    Attributes:
        backend: "anny" (the committed asset, or ``data_dir``/anny_surface.npz) or "smpl" (the user's SMPL-based
            DensePose geometry files, surface/smpl.py).
        data_dir: directory of the backend's files; None = the backend's default (anny: the committed asset;
            smpl: $DENSEPOSE_SMPL_DIR, looked up when ``load()`` runs, so it may be set after registration).
    """

    backend: str
    data_dir: Optional[str] = None

    def __post_init__(self) -> None:
        if self.backend not in SURFACE_BACKENDS:
            raise ValueError(f"body surface backend: expected one of {SURFACE_BACKENDS}, got {self.backend!r}")

    def load(self):
        """The BodySurface (cached by get_surface). Raises FileNotFoundError naming the missing directory/files."""
        from .body_surface import get_surface
        from .smpl import smpl_data_dir

        data_dir = self.data_dir
        if self.backend == "smpl":
            # Resolved here, not at registration: the cache is keyed by the real directory.
            data_dir = str(smpl_data_dir(data_dir))
        return get_surface(self.backend, data_dir=data_dir)

    def __str__(self) -> str:
        if self.data_dir is not None:
            return f"{self.backend} ({self.data_dir})"
        return "smpl ($DENSEPOSE_SMPL_DIR)" if self.backend == "smpl" else "anny (committed asset)"
