"""Reference config keys this package does not implement are refused with their name, value and what is supported."""
import pytest

from densepose_ext.config import validate_densepose_config
from densepose_ext.unsupported_keys import UNSUPPORTED_KEYS
from tests.modeling.tiny import densepose_cfg

CHANGED = {  # a value the reference would act on, per key
    "BOOTSTRAP_DATASETS": [{"DATASET": "chimpnsee"}],
    "BOOTSTRAP_MODEL.WEIGHTS": "model.pkl",
    "BOOTSTRAP_MODEL.DEVICE": "cpu",
    "DATASETS.CATEGORY_MAPS": {"densepose_coco_2014_train": {"1": 1}},
    "DATASETS.WHITELISTED_CATEGORIES": {"densepose_coco_2014_train": [1]},
    "DATASETS.CLASS_TO_MESH_NAME_MAPPING": {"0": "smpl_27554"},
    "TEST.AUG.ENABLED": True,
    "TEST.AUG.ROTATION_ANGLES": (0, 90),
    "DENSEPOSE_EVALUATION.STORAGE": "ram",
    "DENSEPOSE_EVALUATION.MESH_ALIGNMENT_MESH_NAMES": ["smpl_27554"],
    "MODEL.HRNET": {"STEM_INPLANES": 64},
    "MODEL.ROI_DENSEPOSE_HEAD.CSE": {"EMBED_SIZE": 16},
    "MODEL.ROI_DENSEPOSE_HEAD.SEGM_CONFIDENCE.EPSILON": 0.1,
}


def test_every_unsupported_key_has_a_case():
    assert sorted(CHANGED) == sorted(UNSUPPORTED_KEYS)


@pytest.mark.parametrize("key", sorted(CHANGED))
def test_a_changed_unsupported_key_is_refused_by_name(key):
    cfg = densepose_cfg()
    validate_densepose_config(cfg)  # the defaults pass
    cfg.defrost()
    *parents, last = key.split(".")
    node = cfg
    for name in parents:
        node = node[name]
    node.set_new_allowed(True)
    node[last] = CHANGED[key] if not isinstance(CHANGED[key], dict) else type(node)(CHANGED[key])
    with pytest.raises(ValueError, match=rf"Unsupported DensePose config key {key}: expected .* got"):
        validate_densepose_config(cfg)
