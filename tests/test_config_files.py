"""Every config file under configs/ merges, validates and builds; a reference config of a feature not implemented
here is refused before anything is built, by train_net.py and apply_net's setup alike, with a message naming it
(issue 16: "every reference chart-based config merges, validates and builds here, or is refused with a message
naming what is unsupported")."""
import argparse
import os
from pathlib import Path

import pytest
import torch
from detectron2.config import get_cfg
from detectron2.modeling import build_model

from densepose_ext.config import add_densepose_config, validate_densepose_config
from densepose_ext.inference_io.predictor import setup_inference_cfg

REPO = Path(__file__).resolve().parents[1]
CONFIG_FILES = sorted(str(p.relative_to(REPO)) for p in (REPO / "configs").rglob("*.yaml"))
BASE = (REPO / "configs" / "Base-DensePose-RCNN-FPN.yaml").as_posix()

# Reference configs (their keys and values, on our Base) that select what is not implemented here, and what the
# refusal must name.
REFUSED = {
    # HRNet/densepose_rcnn_HRFPN_HRNet_w32_s1x: only the backbone name and its features differ from the Base.
    "HRNet_w32": ("MODEL: {BACKBONE: {NAME: build_hrfpn_backbone}, RPN: {IN_FEATURES: [p1, p2, p3, p4, p5]},"
                  " ROI_HEADS: {IN_FEATURES: [p1, p2, p3, p4, p5]}}",
                  r"MODEL.BACKBONE.NAME 'build_hrfpn_backbone': not implemented: the reference's HRNet backbone"),
    # HRNet/densepose_rcnn_HRFPN_HRNet_w40_s1x, without the backbone name: the widths alone are refused.
    "HRNet_w40_widths": ("MODEL: {HRNET: {STAGE2: {NUM_CHANNELS: [40, 80]}, STAGE3: {NUM_CHANNELS: [40, 80, 160]},"
                         " STAGE4: {NUM_CHANNELS: [40, 80, 160, 320]}}}",
                         r"MODEL.HRNET.STAGE2.NUM_CHANNELS: expected \[32, 64\] .*HRNet backbone\), got \[40, 80\]"),
    "WC1M": ("MODEL: {ROI_DENSEPOSE_HEAD: {UV_CONFIDENCE: {ENABLED: True, TYPE: iid_iso},"
             " SEGM_CONFIDENCE: {ENABLED: True}, POINT_REGRESSION_WEIGHTS: 0.0005}}",
             r"SEGM_CONFIDENCE.ENABLED must be False \(segmentation confidences"),
    "cse": ("MODEL: {ROI_DENSEPOSE_HEAD: {PREDICTOR_NAME: DensePoseEmbeddingPredictor, LOSS_NAME: DensePoseCseLoss,"
            " CSE: {EMBED_LOSS_NAME: EmbeddingLoss}}}",
            r"PREDICTOR_NAME 'DensePoseEmbeddingPredictor': not implemented: the reference's continuous surface"),
    "evolution": ("BOOTSTRAP_DATASETS: [{DATASET: chimpnsee, RATIO: 1.0}]",
                  r"Unsupported DensePose config key BOOTSTRAP_DATASETS: expected \[\]"),
}


def _cfg(config_file: str):
    cfg = get_cfg()
    add_densepose_config(cfg)
    cfg.merge_from_file(config_file)
    return cfg


@pytest.mark.parametrize("config_file", CONFIG_FILES)
def test_every_config_file_merges_validates_and_builds(config_file):
    cfg = _cfg(str(REPO / config_file))
    validate_densepose_config(cfg)
    # Full size on the meta device: every module is constructed with its real shapes, no memory or time is spent.
    cfg.MODEL.DEVICE = "meta"
    with torch.device("meta"):
        model = build_model(cfg)
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert shapes and all(p.is_meta for p in model.parameters())
    if cfg.MODEL.DENSEPOSE_ON and cfg.MODEL.META_ARCHITECTURE == "GeneralizedRCNN":
        h = cfg.MODEL.ROI_DENSEPOSE_HEAD
        # The predictor's coarse output has the channels the config asks for (e.g. 15 for the legacy recipes).
        coarse = [s for n, s in shapes.items() if n.endswith("ann_index_lowres.weight")]
        assert coarse and coarse[0][1] == h.NUM_COARSE_SEGM_CHANNELS
        assert any(n.startswith("roi_heads.decoder.") for n in shapes) == h.DECODER_ON


def test_the_configs_folder_holds_the_reference_recipes_and_ours():
    names = {Path(p).name for p in CONFIG_FILES}
    assert "densepose_rcnn_R_50_FPN_s1x.yaml" in names and "densepose_rcnn_R_101_FPN_DL_WC2_s1x.yaml" in names
    assert len(CONFIG_FILES) >= 30


@pytest.fixture(params=sorted(REFUSED))
def refused_config(request, tmp_path):
    text, message = REFUSED[request.param]
    path = tmp_path / f"{request.param}.yaml"
    path.write_text(f'_BASE_: "{BASE}"\n{text}\n')
    return str(path), message


def test_a_reference_config_of_an_unimplemented_feature_is_refused_by_name(refused_config):
    path, message = refused_config
    with pytest.raises(ValueError, match=message):
        validate_densepose_config(_cfg(path))


def test_train_net_refuses_it_before_building(refused_config, monkeypatch):
    import train_net

    path, message = refused_config
    monkeypatch.setattr(train_net.Trainer, "build_model", classmethod(lambda cls, cfg: pytest.fail("model built")))
    with pytest.raises(ValueError, match=message):
        train_net.main(argparse.Namespace(config_file=path, opts=[], eval_only=True, resume=False))


def test_apply_net_setup_refuses_it_before_building(refused_config):
    path, message = refused_config
    with pytest.raises(ValueError, match=message):
        setup_inference_cfg(path, os.devnull, device="cpu")
