"""Reference config keys that are accepted (so the reference's YAML merges) but not implemented here.

A key of this table with any value but its default is refused: `refuse_unsupported_keys` raises ValueError
naming the key, the value and the one value supported, instead of silently training or evaluating something
other than what the config says. docs/CONFIG_KEYS.md lists every DensePose key and what it does.
"""
from __future__ import annotations

from typing import Any

# key -> (the default, the only value supported; what the reference would do with another value)
UNSUPPORTED_KEYS: dict[str, tuple[Any, str]] = {
    "BOOTSTRAP_DATASETS": ([], "the reference trains on pseudo-labels of unlabelled datasets (bootstrapping)"),
    "BOOTSTRAP_MODEL.WEIGHTS": ("", "the reference's bootstrapping model"),
    "BOOTSTRAP_MODEL.DEVICE": ("cuda", "the device of the reference's bootstrapping model"),
    "DATASETS.CATEGORY_MAPS": ({}, "the reference renames dataset categories (per dataset: source id -> target id)"),
    "DATASETS.WHITELISTED_CATEGORIES": ({}, "the reference keeps only the listed categories of a dataset"),
    "DATASETS.CLASS_TO_MESH_NAME_MAPPING": ({}, "the reference's continuous surface embeddings (CSE) per class"),
    "TEST.AUG.ENABLED": (False, "the reference evaluates with test-time augmentation (flips, scales, rotations)"),
    "TEST.AUG.ROTATION_ANGLES": ([], "the reference adds rotated copies to test-time augmentation"),
    "DENSEPOSE_EVALUATION.STORAGE": ("none", "the reference stores predictions in RAM or files during evaluation"),
    "DENSEPOSE_EVALUATION.MESH_ALIGNMENT_MESH_NAMES": ([], "the reference's CSE mesh-alignment evaluation"),
    "MODEL.HRNET": ({}, "the reference's HRNet backbone"),
    "MODEL.ROI_DENSEPOSE_HEAD.CSE": ({}, "the reference's continuous surface embeddings (CSE) head"),
    "MODEL.ROI_DENSEPOSE_HEAD.SEGM_CONFIDENCE.EPSILON": (0.01, "only read with segmentation confidences, "
                                                               "which are not implemented"),
}


def _value(cfg, key: str) -> Any:
    node = cfg
    for name in key.split("."):
        node = node[name]
    return node


def _is_default(value: Any, default: Any) -> bool:
    if isinstance(default, (dict, list)):  # empty: YAML gives lists, detectron2 defaults are often tuples
        return len(value) == 0
    return value == default


def refuse_unsupported_keys(cfg) -> None:
    """ValueError naming the first key of UNSUPPORTED_KEYS whose value in `cfg` is not its default."""
    for key, (default, what) in UNSUPPORTED_KEYS.items():
        value = _value(cfg, key)
        if not _is_default(value, default):
            raise ValueError(f"Unsupported DensePose config key {key}: expected {default!r} (not implemented: "
                             f"{what}), got {value!r}")
