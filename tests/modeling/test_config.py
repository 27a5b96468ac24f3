"""add_densepose_config: reference YAML loads; inconsistent settings are refused with clear messages."""
import pytest

from densepose_ext.config import validate_densepose_config

from .tiny import densepose_cfg

# Every MODEL.ROI_DENSEPOSE_HEAD key the reference project's chart-based configs set, with a
# non-default value (as written by its YAML files, e.g. the WC1/WC2 and DeepLab variants).
REFERENCE_HEAD_YAML = """
MODEL:
  DENSEPOSE_ON: True
  ROI_HEADS:
    NAME: "DensePoseROIHeads"
  ROI_DENSEPOSE_HEAD:
    NAME: "DensePoseV1ConvXHead"
    NUM_STACKED_CONVS: 8
    NUM_PATCHES: 24
    DECONV_KERNEL: 4
    CONV_HEAD_DIM: 512
    CONV_HEAD_KERNEL: 3
    UP_SCALE: 2
    HEATMAP_SIZE: 112
    POOLER_TYPE: "ROIAlign"
    POOLER_RESOLUTION: 28
    POOLER_SAMPLING_RATIO: 2
    NUM_COARSE_SEGM_CHANNELS: 15
    FG_IOU_THRESHOLD: 0.7
    INDEX_WEIGHTS: 2.0
    PART_WEIGHTS: 0.3
    POINT_REGRESSION_WEIGHTS: 0.1
    COARSE_SEGM_TRAINED_BY_MASKS: False
    DECODER_ON: True
    DECODER_NUM_CLASSES: 256
    DECODER_CONV_DIMS: 256
    DECODER_NORM: ""
    DECODER_COMMON_STRIDE: 4
    DEEPLAB:
      NORM: "GN"
      NONLOCAL_ON: 0
    PREDICTOR_NAME: "DensePoseChartWithConfidencePredictor"
    LOSS_NAME: "DensePoseChartWithConfidenceLoss"
    UV_CONFIDENCE:
      ENABLED: False
      EPSILON: 0.01
      TYPE: "iid_iso"
    SEGM_CONFIDENCE:
      ENABLED: False
      EPSILON: 0.01
DENSEPOSE_EVALUATION:
  TYPE: "iou"
  STORAGE: "none"
  MIN_IOU_THRESHOLD: 0.5
  DISTRIBUTED_INFERENCE: True
INPUT:
  ROTATION_ANGLES: [0]
"""


@pytest.mark.parametrize(
    "path",
    [
        "configs/Base-DensePose-RCNN-FPN.yaml",
        "configs/densepose_rcnn_R_50_FPN_s1x.yaml",
        "configs/densepose_rcnn_R_101_FPN_s1x.yaml",
        "configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml",
    ],
)
def test_shipped_configs_load_and_validate(path):
    cfg = densepose_cfg(path)
    validate_densepose_config(cfg)
    assert cfg.MODEL.ROI_HEADS.NAME == "DensePoseROIHeads"


def test_paper_recipe_values():
    cfg = densepose_cfg("configs/densepose_rcnn_R_101_FPN_s1x.yaml")
    h = cfg.MODEL.ROI_DENSEPOSE_HEAD
    assert (cfg.MODEL.RESNETS.DEPTH, h.NUM_STACKED_CONVS, h.CONV_HEAD_DIM, h.HEATMAP_SIZE) == (101, 8, 512, 112)
    assert cfg.SOLVER.MAX_ITER == 130000 and cfg.INPUT.MIN_SIZE_TRAIN == (640, 672, 704, 736, 768, 800)


def test_reference_yaml_keys_merge(tmp_path):
    path = tmp_path / "reference.yaml"
    path.write_text(REFERENCE_HEAD_YAML)
    cfg = densepose_cfg(str(path))
    validate_densepose_config(cfg)
    assert cfg.MODEL.ROI_DENSEPOSE_HEAD.NUM_COARSE_SEGM_CHANNELS == 15
    assert cfg.MODEL.ROI_DENSEPOSE_HEAD.INDEX_WEIGHTS == 2.0


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("HEATMAP_SIZE", 56,
         "HEATMAP_SIZE must be POOLER_RESOLUTION \\* 2 \\* UP_SCALE = 28 \\* 2 \\* 2 = 112, got 56"),
        ("NUM_COARSE_SEGM_CHANNELS", 14, "NUM_COARSE_SEGM_CHANNELS must be 2 .* or 15 .*, got 14"),
        ("NUM_PATCHES", 20, "NUM_PATCHES must be 24"),
        ("DECONV_KERNEL", 3, "DECONV_KERNEL must be even and >= 2, got 3"),
        ("CONV_HEAD_KERNEL", 4, "CONV_HEAD_KERNEL must be odd"),
        ("FG_IOU_THRESHOLD", 1.5, "FG_IOU_THRESHOLD must be in \\(0, 1\\], got 1.5"),
        ("PART_WEIGHTS", -1.0, "PART_WEIGHTS must be >= 0, got -1.0"),
        ("COARSE_SEGM_TRAINED_BY_MASKS", True, "COARSE_SEGM_TRAINED_BY_MASKS must be False .*not implemented"),
    ],
)
def test_inconsistent_settings_are_refused(key, value, message):
    cfg = densepose_cfg("configs/densepose_rcnn_R_50_FPN_s1x.yaml")
    cfg.MODEL.ROI_DENSEPOSE_HEAD[key] = value
    with pytest.raises(ValueError, match="MODEL.ROI_DENSEPOSE_HEAD." + message):
        validate_densepose_config(cfg)


def test_segmentation_confidence_is_refused():
    cfg = densepose_cfg()
    cfg.MODEL.ROI_DENSEPOSE_HEAD.SEGM_CONFIDENCE.ENABLED = True
    with pytest.raises(ValueError, match="SEGM_CONFIDENCE.ENABLED must be False .*WC1M/WC2M.* not implemented"):
        validate_densepose_config(cfg)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("PREDICTOR_NAME", "DensePoseChartPredictor",
         "PREDICTOR_NAME must be 'DensePoseChartWithConfidencePredictor' \\(UV_CONFIDENCE.ENABLED is True\\)"),
        ("LOSS_NAME", "DensePoseChartLoss",
         "LOSS_NAME must be 'DensePoseChartWithConfidenceLoss' \\(UV_CONFIDENCE.ENABLED is True\\)"),
    ],
)
def test_uv_confidence_needs_the_confidence_predictor_and_loss(key, value, message):
    cfg = densepose_cfg()
    cfg.MODEL.ROI_DENSEPOSE_HEAD.UV_CONFIDENCE.ENABLED = True
    validate_densepose_config(cfg)  # the defaults (the reference's) fit
    cfg.MODEL.ROI_DENSEPOSE_HEAD[key] = value
    with pytest.raises(ValueError, match="MODEL.ROI_DENSEPOSE_HEAD." + message):
        validate_densepose_config(cfg)


def test_decoder_stride_must_match_finest_level():
    from detectron2.layers import ShapeSpec
    from detectron2.modeling import build_roi_heads

    cfg = densepose_cfg("configs/densepose_rcnn_R_50_FPN_s1x.yaml")
    cfg.MODEL.ROI_DENSEPOSE_HEAD.DECODER_ON = True
    cfg.MODEL.ROI_DENSEPOSE_HEAD.DECODER_COMMON_STRIDE = 8
    shapes = {f"p{k}": ShapeSpec(channels=256, stride=2**k) for k in range(2, 7)}
    with pytest.raises(ValueError, match="DECODER_COMMON_STRIDE must be the finest stride"):
        build_roi_heads(cfg, shapes)
