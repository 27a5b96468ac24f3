"""Reference config keys this package does not implement are refused with their name, value and what is supported,
when set to anything but the reference's default, and only then."""
import pytest

from densepose_ext.config import validate_densepose_config
from densepose_ext.unsupported_keys import UNSUPPORTED_KEYS, UNSUPPORTED_VALUES
from tests.modeling.tiny import densepose_cfg

# Per refused key: (the key set, a value the reference would act on). Inside a block of keys (HRNet, CSE) one key of
# the block is changed, and the error names that key.
CHANGED = {
    "BOOTSTRAP_DATASETS": ("BOOTSTRAP_DATASETS", [{"DATASET": "chimpnsee"}]),
    "BOOTSTRAP_MODEL.WEIGHTS": ("BOOTSTRAP_MODEL.WEIGHTS", "model.pkl"),
    "BOOTSTRAP_MODEL.DEVICE": ("BOOTSTRAP_MODEL.DEVICE", "cpu"),
    "DATASETS.CATEGORY_MAPS": ("DATASETS.CATEGORY_MAPS", {"densepose_coco_2014_train": {"1": 1}}),
    "DATASETS.WHITELISTED_CATEGORIES": ("DATASETS.WHITELISTED_CATEGORIES", {"densepose_coco_2014_train": [1]}),
    "DATASETS.CLASS_TO_MESH_NAME_MAPPING": ("DATASETS.CLASS_TO_MESH_NAME_MAPPING", {"0": "smpl_27554"}),
    "TEST.AUG.ROTATION_ANGLES": ("TEST.AUG.ROTATION_ANGLES", (0, 90)),
    "DENSEPOSE_EVALUATION.STORAGE": ("DENSEPOSE_EVALUATION.STORAGE", "ram"),
    "DENSEPOSE_EVALUATION.MESH_ALIGNMENT_MESH_NAMES": ("DENSEPOSE_EVALUATION.MESH_ALIGNMENT_MESH_NAMES", ["smpl_27554"]),
    "MODEL.HRNET": ("MODEL.HRNET.STAGE2.NUM_CHANNELS", [40, 80]),  # the reference's w40
    "MODEL.ROI_DENSEPOSE_HEAD.CSE": ("MODEL.ROI_DENSEPOSE_HEAD.CSE.EMBED_SIZE", 8),
    "MODEL.ROI_DENSEPOSE_HEAD.SEGM_CONFIDENCE.EPSILON": ("MODEL.ROI_DENSEPOSE_HEAD.SEGM_CONFIDENCE.EPSILON", 0.1),
}


def _set(cfg, key, value):
    cfg.defrost()
    *parents, last = key.split(".")
    node = cfg
    for name in parents:
        node = node[name]
    node.set_new_allowed(True)
    node[last] = value if not isinstance(value, dict) else type(node)(value)


def test_every_unsupported_key_has_a_case():
    assert sorted(CHANGED) == sorted(UNSUPPORTED_KEYS)


@pytest.mark.parametrize("key", sorted(CHANGED))
def test_a_changed_unsupported_key_is_refused_by_name(key):
    cfg = densepose_cfg()
    validate_densepose_config(cfg)  # the defaults pass
    name, value = CHANGED[key]
    _set(cfg, name, value)
    with pytest.raises(ValueError, match=rf"Unsupported DensePose config key {name}: expected .* got"):
        validate_densepose_config(cfg)


@pytest.mark.parametrize("key", ["MODEL.HRNET", "MODEL.ROI_DENSEPOSE_HEAD.CSE"])
def test_a_block_at_the_references_defaults_passes_and_a_key_it_lacks_is_refused(key):
    cfg = densepose_cfg()
    defaults, _ = UNSUPPORTED_KEYS[key]
    _set(cfg, key, dict(defaults))  # set explicitly, to the reference's values (as its merged config.yaml does)
    validate_densepose_config(cfg)
    _set(cfg, f"{key}.NOT_A_REFERENCE_KEY", 1)
    with pytest.raises(ValueError, match=rf"Unsupported DensePose config key {key}.NOT_A_REFERENCE_KEY: expected"):
        validate_densepose_config(cfg)


@pytest.mark.parametrize("key,value", [(k, v) for k, values in UNSUPPORTED_VALUES.items() for v in values])
def test_a_value_selecting_an_unimplemented_feature_is_refused_by_name(key, value):
    cfg = densepose_cfg()
    _set(cfg, key, value)
    with pytest.raises(ValueError, match=rf"Unsupported DensePose config value {key} '{value}': not implemented: "):
        validate_densepose_config(cfg)
