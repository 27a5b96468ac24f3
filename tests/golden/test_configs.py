"""Our reference-named configs are the reference's recipes: merged, they equal its merged config.yaml; and that
merged config.yaml itself validates, builds and loads its checkpoint here."""
import pytest
import yaml
from detectron2.config import get_cfg
from detectron2.modeling import build_model

from densepose_ext.config import add_densepose_config, validate_densepose_config
from densepose_ext.modeling.checkpoint import DensePoseCheckpointer

from .fixtures import CONFIGS, FROM_CONFIG, GOLDEN, LEGACY, S1X, golden_cfg, reference_weights

FAMILIES = sorted(p.name for p in GOLDEN.glob("densepose_rcnn_*") if (p / "config.yaml").is_file())

# Not part of a recipe: where the fixtures' weights and outputs live. (The reference's CSE and HRNet blocks are
# compared too: our config holds them at the reference's defaults.)
_NOT_RECIPE = {"MODEL.WEIGHTS", "OUTPUT_DIR"}


def _flat(node: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in node.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = list(value) if isinstance(value, tuple) else value
    return out


@pytest.mark.parametrize("family", [S1X, LEGACY])
def test_config_equals_the_references_merged_config(family):
    ours = _flat(yaml.safe_load(golden_cfg(family).dump()))
    reference = _flat(yaml.safe_load((GOLDEN / family / "config.yaml").read_text()))
    shared = sorted(set(ours) & set(reference) - _NOT_RECIPE)
    assert len(shared) > 200  # the whole detectron2 config, not a corner of it
    assert any(k.startswith("MODEL.HRNET.") for k in shared) and any(".CSE." in k for k in shared)
    assert {k: (ours[k], reference[k]) for k in shared if ours[k] != reference[k]} == {}


@pytest.mark.parametrize("name", ["densepose_rcnn_R_50_FPN_s1x", "densepose_rcnn_R_50_FPN_s1x_legacy",
                                  "densepose_rcnn_R_101_FPN_s1x", "densepose_rcnn_R_101_FPN_s1x_legacy"])
def test_reference_named_configs_build_their_recipe(name):
    cfg = get_cfg()
    add_densepose_config(cfg)
    cfg.merge_from_file(str(CONFIGS / f"{name}.yaml"))
    h = cfg.MODEL.ROI_DENSEPOSE_HEAD
    legacy = name.endswith("_legacy")
    assert (h.DECODER_ON, h.NUM_COARSE_SEGM_CHANNELS, h.HEATMAP_SIZE) == ((False, 15, 56) if legacy else (True, 2, 112))
    assert cfg.SOLVER.BASE_LR == (0.002 if legacy else 0.01) and cfg.SOLVER.MAX_ITER == 130000
    assert cfg.MODEL.RESNETS.DEPTH == int(name.split("_")[3])
    # Built at reduced width (the full R-101 model takes seconds to build on a CPU).
    cfg.merge_from_list(["MODEL.RESNETS.STEM_OUT_CHANNELS", "4", "MODEL.RESNETS.RES2_OUT_CHANNELS", "8",
                         "MODEL.RESNETS.WIDTH_PER_GROUP", "2", "MODEL.FPN.OUT_CHANNELS", "16",
                         "MODEL.ROI_DENSEPOSE_HEAD.CONV_HEAD_DIM", "16", "MODEL.ROI_DENSEPOSE_HEAD.DECODER_NUM_CLASSES",
                         "16", "MODEL.ROI_DENSEPOSE_HEAD.DECODER_CONV_DIMS", "16", "MODEL.DEVICE", "cpu"])
    heads = build_model(cfg).roi_heads
    assert (heads.decoder is not None) == (not legacy)
    assert heads.densepose_predictor.ann_index_lowres.out_channels == h.NUM_COARSE_SEGM_CHANNELS


@pytest.mark.parametrize("family", FAMILIES)
def test_the_references_own_merged_config_validates_builds_and_loads_its_checkpoint(family):
    # The reference's cfg.dump() as it is: every key, its CSE and HRNet blocks at their defaults included.
    cfg = get_cfg()
    add_densepose_config(cfg)
    cfg.merge_from_file(str(GOLDEN / family / "config.yaml"))
    validate_densepose_config(cfg)
    cfg.MODEL.DEVICE = "cpu"
    model = build_model(cfg)
    # Refuses a DensePose checkpoint that does not fit the model.
    DensePoseCheckpointer.from_config(cfg, model).load(str(GOLDEN / family / "model.pkl"))
    reference = reference_weights(family)
    state = {k for k in model.state_dict() if k not in FROM_CONFIG}
    assert (sorted(state - set(reference)), sorted(set(reference) - state)) == ([], [])  # 0 missing, 0 unexpected


def test_every_golden_family_is_covered():
    assert len(FAMILIES) == 6 and S1X in FAMILIES and LEGACY in FAMILIES
