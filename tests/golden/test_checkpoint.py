"""Reference checkpoints load with every tensor, and a DensePose checkpoint of another architecture is refused."""
import pickle

import numpy as np
import pytest
import torch
from detectron2.modeling import build_model

from densepose_ext.modeling.checkpoint import DensePoseCheckpointer

from .fixtures import FROM_CONFIG, GOLDEN, LEGACY, S1X, golden_cfg, golden_model, reference_weights



@pytest.mark.parametrize("family", [S1X, LEGACY])
def test_reference_checkpoint_fills_every_tensor(family):
    state = {k: v for k, v in golden_model(family).state_dict().items() if k not in FROM_CONFIG}
    reference = reference_weights(family)
    assert sorted(state) == sorted(reference)  # 0 missing, 0 unexpected
    assert [k for k in reference if not np.array_equal(state[k].numpy(), reference[k])] == []


def _load(family_cfg: str, family_weights: str, **cfg_changes):
    cfg = golden_cfg(family_cfg)
    cfg.merge_from_list([x for kv in cfg_changes.items() for x in kv])
    model = build_model(cfg)
    DensePoseCheckpointer.from_config(cfg, model).load(str(GOLDEN / family_weights / "model.pkl"))
    return model


def test_s1x_weights_in_the_legacy_config_are_refused_naming_the_s1x_recipe():
    with pytest.raises(ValueError) as e:
        _load(LEGACY, S1X)
    message = str(e.value)
    assert "model.pkl: this DensePose checkpoint does not fit" in message
    assert "16 unexpected keys: roi_heads.decoder.p2.0.weight" in message
    assert "keys of another shape: roi_heads.densepose_predictor.ann_index_lowres.weight (16, 2, 4, 4)" in message
    assert "the reference recipe densepose_rcnn_R_50_FPN_s1x (configs/densepose_rcnn_R_50_FPN_s1x.yaml" in message
    assert "MODEL.ROI_DENSEPOSE_HEAD.DECODER_ON True" in message
    assert "MODEL.LOAD_MISMATCHED_DENSEPOSE_WEIGHTS True" in message


def test_legacy_weights_in_the_s1x_config_are_refused_naming_the_legacy_recipe():
    with pytest.raises(ValueError) as e:
        _load(S1X, LEGACY)
    message = str(e.value)
    assert "16 missing keys: roi_heads.decoder." in message
    assert "densepose_rcnn_R_50_FPN_s1x_legacy" in message
    assert "MODEL.RESNETS.DEPTH 50" in message and "NUM_COARSE_SEGM_CHANNELS 15" in message


def test_a_checkpoint_of_no_reference_backbone_is_described_by_its_keys():
    from densepose_ext.modeling.checkpoint import checkpoint_architecture, reference_recipe_name

    arch = checkpoint_architecture({"backbone.bottom_up.res4.0.conv1.weight": (8, 8, 3, 3),
                                    "backbone.bottom_up.res4.1.conv1.weight": (8, 8, 3, 3)})
    assert arch["MODEL.RESNETS.DEPTH"] == 18 and reference_recipe_name(arch) is None


def test_explicit_opt_out_loads_what_fits():
    model = _load(LEGACY, S1X, **{"MODEL.LOAD_MISMATCHED_DENSEPOSE_WEIGHTS": "True"})
    weight = reference_weights(S1X)["roi_heads.densepose_head.body_conv_fcn1.weight"]
    assert np.array_equal(model.roi_heads.densepose_head.body_conv_fcn1.weight.detach().numpy(), weight)


def test_backbone_only_weights_load_into_a_densepose_model(tmp_path):
    # ImageNet-style initialisation: only backbone tensors, the rest of the model keeps its initialisation.
    backbone = {k: v for k, v in reference_weights(S1X).items() if k.startswith("backbone.bottom_up.")}
    path = tmp_path / "backbone.pkl"
    with open(path, "wb") as f:
        pickle.dump({"model": backbone, "__author__": "test"}, f)
    cfg = golden_cfg(S1X)
    model = build_model(cfg)
    before = model.roi_heads.densepose_head.body_conv_fcn1.weight.detach().clone()
    DensePoseCheckpointer.from_config(cfg, model).load(str(path))
    stem = backbone["backbone.bottom_up.stem.conv1.weight"]
    assert np.array_equal(model.backbone.bottom_up.stem.conv1.weight.detach().numpy(), stem)
    assert torch.equal(model.roi_heads.densepose_head.body_conv_fcn1.weight, before)
