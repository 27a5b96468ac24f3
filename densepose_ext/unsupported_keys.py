"""Reference config keys that are accepted (so the reference's YAML merges) but not implemented here.

A key of this table set to anything but the reference's default is refused: `refuse_unsupported_keys` raises
ValueError naming the key, the value and the one value supported, instead of silently training or evaluating
something other than what the config says. For a block of keys (MODEL.HRNET, MODEL.ROI_DENSEPOSE_HEAD.CSE) the
default is the reference's whole block, so a full merged reference config (its `cfg.dump()`, which carries
these blocks at their defaults) passes, and the error names the one key inside the block that differs.
docs/CONFIG_KEYS.md lists every DensePose key and what it does.
"""
from __future__ import annotations

from typing import Any, Iterator, Tuple

# The reference's defaults of its HRNet backbone keys (densepose/config.py add_hrnet_config: HigherHRNet w32).
REFERENCE_HRNET_DEFAULTS: dict[str, Any] = {
    "STEM_INPLANES": 64,
    **{
        f"STAGE{stage}": {
            "NUM_MODULES": modules,
            "NUM_BRANCHES": stage,
            "BLOCK": "BASIC",
            "NUM_BLOCKS": [4] * stage,
            "NUM_CHANNELS": [32 * 2**k for k in range(stage)],
            "FUSE_METHOD": "SUM",
        }
        for stage, modules in ((2, 1), (3, 4), (4, 3))
    },
    "HRFPN": {"OUT_CHANNELS": 256},
}

# The reference's defaults of its continuous surface embeddings head keys (add_densepose_head_cse_config).
REFERENCE_CSE_DEFAULTS: dict[str, Any] = {
    "EMBED_SIZE": 16,
    "FEATURES_LR_FACTOR": 1.0,
    "EMBEDDING_LR_FACTOR": 1.0,
    "EMBEDDING_DIST_GAUSS_SIGMA": 0.01,
    "GEODESIC_DIST_GAUSS_SIGMA": 0.01,
    "EMBED_LOSS_NAME": "EmbeddingLoss",
    "EMBED_LOSS_WEIGHT": 0.6,
    "EMBEDDERS": {},
    "SHAPE_TO_SHAPE_CYCLE_LOSS": {
        "ENABLED": False, "WEIGHT": 0.025, "NORM_P": 2, "TEMPERATURE": 0.05, "MAX_NUM_VERTICES": 4936,
    },
    "PIX_TO_SHAPE_CYCLE_LOSS": {
        "ENABLED": False, "WEIGHT": 0.0001, "NORM_P": 2, "USE_ALL_MESHES_NOT_GT_ONLY": False,
        "NUM_PIXELS_TO_SAMPLE": 100, "PIXEL_SIGMA": 5.0, "TEMPERATURE_PIXEL_TO_VERTEX": 0.05,
        "TEMPERATURE_VERTEX_TO_PIXEL": 0.05,
    },
}

# key -> (the reference's default, the only value supported; what the reference would do with another value)
UNSUPPORTED_KEYS: dict[str, tuple[Any, str]] = {
    "BOOTSTRAP_DATASETS": ([], "the reference trains on pseudo-labels of unlabelled datasets (bootstrapping)"),
    "BOOTSTRAP_MODEL.WEIGHTS": ("", "the reference's bootstrapping model"),
    "BOOTSTRAP_MODEL.DEVICE": ("cuda", "the device of the reference's bootstrapping model"),
    "DATASETS.CATEGORY_MAPS": ({}, "the reference renames dataset categories (per dataset: source id -> target id)"),
    "DATASETS.WHITELISTED_CATEGORIES": ({}, "the reference keeps only the listed categories of a dataset"),
    "DATASETS.CLASS_TO_MESH_NAME_MAPPING": ({}, "the reference's continuous surface embeddings (CSE) per class"),
    "TEST.AUG.ROTATION_ANGLES": ([], "the reference adds rotated copies to test-time augmentation"),
    "DENSEPOSE_EVALUATION.STORAGE": ("none", "the reference stores predictions in RAM or files during evaluation"),
    "DENSEPOSE_EVALUATION.MESH_ALIGNMENT_MESH_NAMES": ([], "the reference's CSE mesh-alignment evaluation"),
    "MODEL.HRNET": (REFERENCE_HRNET_DEFAULTS, "the reference's HRNet backbone"),
    "MODEL.ROI_DENSEPOSE_HEAD.CSE": (REFERENCE_CSE_DEFAULTS, "the reference's continuous surface embeddings (CSE) head"),
    "MODEL.ROI_DENSEPOSE_HEAD.SEGM_CONFIDENCE.EPSILON": (0.01, "only read with segmentation confidences, "
                                                               "which are not implemented"),
}

# key -> {value: what the reference would do}: values of a key that otherwise takes several values.
UNSUPPORTED_VALUES: dict[str, dict[Any, str]] = {
    "MODEL.BACKBONE.NAME": {
        "build_hrfpn_backbone": "the reference's HRNet backbone with its HRFPN (configs HRNet/*, docs/MODEL_ZOO.md)",
    },
    "MODEL.ROI_DENSEPOSE_HEAD.PREDICTOR_NAME": {
        "DensePoseEmbeddingPredictor": "the reference's continuous surface embeddings (CSE) predictor (configs cse/*)",
    },
    "MODEL.ROI_DENSEPOSE_HEAD.LOSS_NAME": {
        "DensePoseCseLoss": "the reference's continuous surface embeddings (CSE) losses (configs cse/*)",
    },
}

_ABSENT = "<no such key in the reference's defaults>"


def _value(cfg, key: str) -> Any:
    node = cfg
    for name in key.split("."):
        node = node[name]
    return node


def _differences(key: str, value: Any, default: Any) -> Iterator[Tuple[str, Any, Any]]:
    """(key, default, value) of every leaf of `value` that is not the reference's default. A block (dict) is
    compared key by key: keys it lacks are not set (they keep the default), keys the default lacks are set."""
    if isinstance(default, dict) and isinstance(value, dict):
        if not default:  # a block of entries the user adds (e.g. category maps): any entry is a change
            if len(value):
                yield key, default, value
            return
        for name, sub in value.items():
            yield from _differences(f"{key}.{name}", sub, default.get(name, _ABSENT))
    elif isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)):
        if list(value) != list(default):  # YAML gives lists where detectron2's defaults are often tuples
            yield key, default, value
    elif value != default:
        yield key, default, value


def refuse_unsupported_keys(cfg) -> None:
    """ValueError naming the first key of UNSUPPORTED_VALUES set to one of its unsupported values (the feature a
    reference config selects, e.g. its HRNet backbone), else the first key of UNSUPPORTED_KEYS (or a key inside
    such a block) whose value in `cfg` is not the reference's default."""
    for key, values in UNSUPPORTED_VALUES.items():
        value = _value(cfg, key)
        if value in values:
            raise ValueError(f"Unsupported DensePose config value {key} {value!r}: not implemented: {values[value]}")
    for key, (default, what) in UNSUPPORTED_KEYS.items():
        for name, expected, value in _differences(key, _value(cfg, key), default):
            raise ValueError(f"Unsupported DensePose config key {name}: expected {expected!r} (not implemented: "
                             f"{what}), got {value!r}")
