"""Models this project trained itself and ships inside the package (no download, ever).

Each shipped model is a self-contained config (a full `cfg.dump()`, no `_BASE_`) and a model-only checkpoint
beside it. Both are reachable through detectron2's own path manager with the ``densepose_ext://`` prefix, so they
go wherever detectron2 takes a file name::

    cfg.merge_from_file("densepose_ext://densepose_synth_R18ish_FPN.yaml")
    cfg.MODEL.WEIGHTS = "densepose_ext://densepose_synth_R18ish_FPN.pth"   # DetectionCheckpointer loads it

or, from the command line, by the model's name (`apply_net.py show densepose_synth photo.jpg dp_segm`).
How each model was trained, and what it can and cannot do: docs/MODEL_CARD.md.
"""
from __future__ import annotations

import os
from typing import Dict, List, Sequence

from detectron2.utils.file_io import PathHandler, PathManager

ZOO_DIR = os.path.dirname(os.path.abspath(__file__))
PREFIX = "densepose_ext://"

# short name -> file stem under ZOO_DIR ({stem}.yaml, {stem}.pth)
SHIPPED_MODELS: Dict[str, str] = {
    "densepose_synth": "densepose_synth_R18ish_FPN",
}


class ShippedModelHandler(PathHandler):
    """Resolves ``densepose_ext://<file>`` to the file shipped in this package's model_zoo folder."""

    def _get_supported_prefixes(self) -> List[str]:
        return [PREFIX]

    def _get_local_path(self, path: str, **kwargs) -> str:
        local = os.path.join(ZOO_DIR, path[len(PREFIX):])
        if not os.path.isfile(local):
            shipped = sorted(f for f in os.listdir(ZOO_DIR) if f.endswith((".yaml", ".pth")))
            raise FileNotFoundError(f"{path}: no such shipped file in {ZOO_DIR} (shipped: {', '.join(shipped)})")
        return local

    def _open(self, path: str, mode: str = "r", **kwargs):
        return open(self._get_local_path(path), mode)

    def _isfile(self, path: str, **kwargs) -> bool:
        return os.path.isfile(os.path.join(ZOO_DIR, path[len(PREFIX):]))

    def _exists(self, path: str, **kwargs) -> bool:
        return self._isfile(path)


def register_path_handler() -> None:
    """Make ``densepose_ext://`` known to detectron2's PathManager (idempotent)."""
    if PREFIX not in PathManager._path_handlers:
        PathManager.register_handler(ShippedModelHandler())


def get_config_file(name: str) -> str:
    """The ``densepose_ext://`` config path of a shipped model (`name` from SHIPPED_MODELS)."""
    return PREFIX + _stem(name) + ".yaml"


def get_checkpoint(name: str) -> str:
    """The ``densepose_ext://`` checkpoint path of a shipped model (`name` from SHIPPED_MODELS)."""
    return PREFIX + _stem(name) + ".pth"


def expand_model_name(args: Sequence[str]) -> List[str]:
    """`args` with a leading shipped model name replaced by its config and checkpoint (a command line's
    ``NAME INPUT ...`` becomes ``CONFIG WEIGHTS INPUT ...``); other arguments are returned unchanged."""
    args = list(args)
    if args and args[0] in SHIPPED_MODELS:
        return [get_config_file(args[0]), get_checkpoint(args[0]), *args[1:]]
    return args


def _stem(name: str) -> str:
    if name not in SHIPPED_MODELS:
        raise KeyError(f"unknown shipped model {name!r}; shipped: {', '.join(sorted(SHIPPED_MODELS))}")
    return SHIPPED_MODELS[name]


register_path_handler()
