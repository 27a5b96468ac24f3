"""Config keys of DensePose R-CNN and the checks that reject inconsistent combinations.

Key names and defaults follow the reference DensePose project (detectron2/projects/DensePose), so its
YAML files merge into a config prepared here. Keys for reference features this package does not
implement (segmentation confidences, CSE, HRNet, bootstrapping) exist so such YAML still loads;
`validate_densepose_config` then refuses the ones that would change the model.

Other helpers may add keys for their own feature in a section of their own (marked by a comment).
"""
from __future__ import annotations

from detectron2.config import CfgNode as CN
from detectron2.modeling import BACKBONE_REGISTRY

from .surface.parts import NUM_COARSE_PARTS, NUM_FINE_PARTS
from .unsupported_keys import REFERENCE_CSE_DEFAULTS, REFERENCE_HRNET_DEFAULTS, refuse_unsupported_keys

# Head (NAME) and predictor (PREDICTOR_NAME) names are checked by their registries' builders
# (modeling/head.py, modeling/predictor.py). The losses are one function: these names select whether
# the U/V loss may use UV confidences ("" = the default, for configs written before the key existed).
_CONFIDENCE_PREDICTOR = "DensePoseChartWithConfidencePredictor"
_CONFIDENCE_LOSS = "DensePoseChartWithConfidenceLoss"
_SUPPORTED_LOSS_NAMES = ("", "DensePoseChartLoss", _CONFIDENCE_LOSS)


def _reference_block(defaults: dict) -> CN:
    """A block of reference-only keys at the reference's defaults (so its merged configs compare equal); open to
    keys of other reference versions, which `refuse_unsupported_keys` then refuses by name."""
    node = CN(defaults)
    node.set_new_allowed(True)
    return node


def add_densepose_config(cfg: CN) -> None:
    """Add every DensePose key with its default to `cfg` (in place)."""
    _C = cfg
    _C.MODEL.DENSEPOSE_ON = True

    h = _C.MODEL.ROI_DENSEPOSE_HEAD = CN()
    h.NAME = "DensePoseV1ConvXHead"
    # Head (paper Fig. 6): NUM_STACKED_CONVS convolutions of CONV_HEAD_KERNEL x CONV_HEAD_KERNEL,
    # CONV_HEAD_DIM channels each, ReLU, on ROIAlign features of POOLER_RESOLUTION^2.
    h.NUM_STACKED_CONVS = 8
    h.CONV_HEAD_DIM = 512
    h.CONV_HEAD_KERNEL = 3
    # Number of fine surface parts (charts); the predictor outputs NUM_PATCHES + 1 channels.
    h.NUM_PATCHES = NUM_FINE_PARTS
    # Predictor: a stride-2 transposed convolution of DECONV_KERNEL, then bilinear upsampling by
    # UP_SCALE, so HEATMAP_SIZE must equal POOLER_RESOLUTION * 2 * UP_SCALE.
    h.DECONV_KERNEL = 4
    h.UP_SCALE = 2
    h.HEATMAP_SIZE = 112
    h.POOLER_TYPE = "ROIAlignV2"
    h.POOLER_RESOLUTION = 28
    h.POOLER_SAMPLING_RATIO = 2
    # Coarse segmentation: 2 = person / background, 15 = 14 coarse parts (dp_masks) + background.
    h.NUM_COARSE_SEGM_CHANNELS = 2
    # A foreground proposal trains the DensePose branch if its IoU with its GT box is >= this.
    h.FG_IOU_THRESHOLD = 0.7
    # Loss weights: coarse segmentation (INDEX), fine parts at points (PART), U/V at points
    # (POINT_REGRESSION; the U/V smooth-L1 is summed over points, not averaged, as in the reference).
    h.INDEX_WEIGHTS = 5.0
    h.PART_WEIGHTS = 1.0
    h.POINT_REGRESSION_WEIGHTS = 0.01
    # Reference option (train coarse segmentation from instance masks): not implemented here.
    h.COARSE_SEGM_TRAINED_BY_MASKS = False
    # Decoder (reference addition, not in the paper): merges FPN levels into one stride-
    # DECODER_COMMON_STRIDE map of DECODER_NUM_CLASSES channels that the ROIs are pooled from.
    h.DECODER_ON = True
    h.DECODER_NUM_CLASSES = 256
    h.DECODER_CONV_DIMS = 256
    h.DECODER_NORM = ""
    h.DECODER_COMMON_STRIDE = 4
    # DeepLab head (NAME "DensePoseDeepLabHead", modeling/deeplab_head.py): NORM "GN" puts GroupNorm(32)
    # after each stacked convolution ("" = none); NONLOCAL_ON adds a non-local block after the ASPP.
    h.DEEPLAB = CN()
    h.DEEPLAB.NORM = "GN"
    h.DEEPLAB.NONLOCAL_ON = 0
    # Predictor (modeling/predictor.py registry) and loss; the reference's defaults. Without confidences
    # enabled the confidence predictor and loss are exactly the plain chart ones.
    h.PREDICTOR_NAME = _CONFIDENCE_PREDICTOR
    h.LOSS_NAME = _CONFIDENCE_LOSS
    # UV confidence (modeling/confidence.py; the reference's WC1 = "iid_iso", WC2 = "indep_aniso"): the
    # predictor adds sigma_2 (and kappa_u, kappa_v), the U/V loss becomes a Gaussian negative
    # log-likelihood with variance softplus(sigma_2) + EPSILON. Needs PREDICTOR_NAME and LOSS_NAME "...WithConfidence...".
    h.UV_CONFIDENCE = CN({"ENABLED": False})
    h.UV_CONFIDENCE.EPSILON = 0.01
    h.UV_CONFIDENCE.TYPE = "iid_iso"
    # Reference-only options, present so reference YAML loads; validation rejects enabling them.
    h.SEGM_CONFIDENCE = CN({"ENABLED": False})
    h.SEGM_CONFIDENCE.EPSILON = 0.01
    h.CSE = _reference_block(REFERENCE_CSE_DEFAULTS)
    _C.INPUT.ROTATION_ANGLES = [0]
    _C.TEST.AUG.ROTATION_ANGLES = ()
    _C.DATASETS.CATEGORY_MAPS = CN(new_allowed=True)
    _C.DATASETS.WHITELISTED_CATEGORIES = CN(new_allowed=True)
    _C.DATASETS.CLASS_TO_MESH_NAME_MAPPING = CN(new_allowed=True)
    _C.BOOTSTRAP_DATASETS = []
    _C.BOOTSTRAP_MODEL = CN()
    _C.BOOTSTRAP_MODEL.WEIGHTS = ""
    _C.BOOTSTRAP_MODEL.DEVICE = "cuda"
    _C.MODEL.HRNET = _reference_block(REFERENCE_HRNET_DEFAULTS)

    # ---- body surface of the datasets (densepose_ext/data/dataset_surface.py) ----
    # For datasets registered without one (metadata `densepose_surface`): "anny" or "smpl" (SMPL-based DensePose
    # geometry in DENSEPOSE_SURFACE_DIR, default $DENSEPOSE_SMPL_DIR). Empty: the datasets' registered surface.
    _C.DATASETS.DENSEPOSE_SURFACE = ""
    _C.DATASETS.DENSEPOSE_SURFACE_DIR = ""

    # ---- inference rule, loss sampling, checkpoint loading (modeling/inference.py, losses.py, checkpoint.py) ----
    # Per-pixel labels of a detection (modeling/inference.py): "coarse_argmax" (the reference's rule and the
    # default: on the person where the coarse arg-max is not background, there the arg-max of all 25 fine
    # channels, so background can still win) or "background_below_half" (ours: on the person where the coarse
    # P(background) < 1/2, there the arg-max of the 24 fine parts). CLAMP_UV clamps U, V to [0, 1] (the
    # reference does not).
    h.INFERENCE = CN()
    h.INFERENCE.FOREGROUND_RULE = "coarse_argmax"
    h.INFERENCE.CLAMP_UV = False
    # Where the losses read the S x S outputs (modeling/losses.py): "cell_centres" (ours: a value sits at its
    # cell's centre, points are interpolated between centres and the coarse mask is sampled at them) or
    # "corners" (the reference's: values at the cells' top-left corners; reproduces its loss values).
    h.LOSS_SAMPLING = "cell_centres"
    # A checkpoint with DensePose tensors must fit the built model exactly (modeling/checkpoint.py); True loads
    # what fits and only warns, as detectron2 does. Backbone-only (ImageNet) weights always load.
    _C.MODEL.LOAD_MISMATCHED_DENSEPOSE_WEIGHTS = False

    # ---- cross-task cascade (densepose_ext/modeling/cascade.py, paper Sec. 3.3, Fig. 7) ----
    # A second DensePose stage reads the pooled ROI features + first-stage DensePose outputs (+ the mask
    # logits when USE_MASKS, + the keypoint heatmaps when USE_KEYPOINTS, which need MODEL.MASK_ON /
    # KEYPOINT_ON) of the same ROIs; both stages are trained, inference uses the second. ENABLED with
    # neither auxiliary input is the paper's "DensePose-ST". NUM_STACKED_CONVS: convolutions of the
    # second stage (CONV_HEAD_DIM channels, CONV_HEAD_KERNEL).
    h.CASCADE = CN()
    h.CASCADE.ENABLED = False
    h.CASCADE.USE_MASKS = False
    h.CASCADE.USE_KEYPOINTS = False
    h.CASCADE.NUM_STACKED_CONVS = 8

    # ---- evaluation (keys of the reference; DensePoseCOCOEvaluator reads them) ----
    _C.DENSEPOSE_EVALUATION = CN()
    _C.DENSEPOSE_EVALUATION.TYPE = "iou"
    _C.DENSEPOSE_EVALUATION.STORAGE = "none"
    _C.DENSEPOSE_EVALUATION.MIN_IOU_THRESHOLD = 0.5
    _C.DENSEPOSE_EVALUATION.DISTRIBUTED_INFERENCE = True
    _C.DENSEPOSE_EVALUATION.EVALUATE_MESH_ALIGNMENT = False
    _C.DENSEPOSE_EVALUATION.MESH_ALIGNMENT_MESH_NAMES = []

    # ---- GPS evaluator (densepose_ext/evaluation, evaluation helper) ----
    # Normaliser of the geodesic point similarity: "global" (the paper's κ = 0.255 m) or "per-part" (the
    # reference evaluator's κ per group of body parts). Reports say which one produced them.
    _C.DENSEPOSE_EVALUATION.KAPPA = "global"
    # How two chart points get a geodesic distance (evaluation/conventions.py): "chart-vertex" (the reference's:
    # each point snapped to the nearest chart vertex of its part, distances precomputed in the SMPL files'
    # Pdist_matrix.pkl), "exact" (ours: between the points themselves), or empty: the dataset surface's own protocol,
    # "chart-vertex" on SMPL-based datasets (densepose_coco_*), "exact" on anny. Reports state the one used.
    _C.DENSEPOSE_EVALUATION.GEODESIC = ""

    # ---- optimizer (densepose_ext/engine/optimizer.py) ----
    # "SGD" (detectron2's, the paper recipe) or "ADAMW" (the from-scratch CPU recipes); BETAS for AdamW only.
    _C.SOLVER.OPTIMIZER = "SGD"
    _C.SOLVER.BETAS = (0.9, 0.999)

    # ---- teacher / distillation (densepose_ext/teacher, teacher helper) ----
    # MODEL.DENSEPOSE_TEACHER.* (the teacher network) and DENSEPOSE_TEACHER.* (dense labels for the student);
    # defined and commented in densepose_ext/teacher/config.py. Imported here, not at module level, because
    # the teacher package imports the modeling package.
    from .teacher.config import add_teacher_config

    add_teacher_config(_C)


def _check(ok: bool, key: str, expected: str, actual: object) -> None:
    if not ok:
        raise ValueError(f"Invalid DensePose config: {key} must be {expected}, got {actual!r}")


def validate_densepose_config(cfg: CN) -> None:
    """Raise ValueError naming the key, the expectation and the value for inconsistent settings.

    Entry points call it right after merging a config, before building anything (train_net.py, apply_net's
    setup_inference_cfg), so a config of a reference feature not implemented here is refused by name instead of
    failing inside detectron2's builders."""
    refuse_unsupported_keys(cfg)
    backbone = cfg.MODEL.BACKBONE.NAME
    _check(backbone in BACKBONE_REGISTRY, "MODEL.BACKBONE.NAME", f"a registered backbone, one of "
           f"{sorted(name for name, _ in BACKBONE_REGISTRY)}", backbone)
    if not cfg.MODEL.DENSEPOSE_ON:
        return
    h = cfg.MODEL.ROI_DENSEPOSE_HEAD
    p = "MODEL.ROI_DENSEPOSE_HEAD."
    _check(h.LOSS_NAME in _SUPPORTED_LOSS_NAMES, p + "LOSS_NAME", f"one of {_SUPPORTED_LOSS_NAMES}", h.LOSS_NAME)
    if h.UV_CONFIDENCE.ENABLED:
        why = " (UV_CONFIDENCE.ENABLED is True)"
        _check(h.PREDICTOR_NAME == _CONFIDENCE_PREDICTOR, p + "PREDICTOR_NAME", repr(_CONFIDENCE_PREDICTOR) + why,
               h.PREDICTOR_NAME)
        _check(h.LOSS_NAME == _CONFIDENCE_LOSS, p + "LOSS_NAME", repr(_CONFIDENCE_LOSS) + why, h.LOSS_NAME)
        _check(h.UV_CONFIDENCE.EPSILON > 0, p + "UV_CONFIDENCE.EPSILON", "> 0 (lower bound of the variance)",
               h.UV_CONFIDENCE.EPSILON)
    _check(
        not h.SEGM_CONFIDENCE.ENABLED,
        p + "SEGM_CONFIDENCE.ENABLED",
        "False (segmentation confidences, the reference's WC1M/WC2M models, are not implemented)",
        True,
    )
    _check(
        not h.COARSE_SEGM_TRAINED_BY_MASKS,
        p + "COARSE_SEGM_TRAINED_BY_MASKS",
        "False (training coarse segmentation from instance masks is not implemented)",
        True,
    )
    _check(
        h.NUM_PATCHES == NUM_FINE_PARTS, p + "NUM_PATCHES", f"{NUM_FINE_PARTS} (the body's fine parts)", h.NUM_PATCHES
    )
    _check(
        h.NUM_COARSE_SEGM_CHANNELS in (2, NUM_COARSE_PARTS + 1),
        p + "NUM_COARSE_SEGM_CHANNELS",
        f"2 (person/background) or {NUM_COARSE_PARTS + 1} (coarse parts + background)",
        h.NUM_COARSE_SEGM_CHANNELS,
    )
    _check(h.NUM_STACKED_CONVS >= 1, p + "NUM_STACKED_CONVS", ">= 1", h.NUM_STACKED_CONVS)
    _check(h.CONV_HEAD_DIM >= 1, p + "CONV_HEAD_DIM", ">= 1", h.CONV_HEAD_DIM)
    _check(h.CONV_HEAD_KERNEL % 2 == 1, p + "CONV_HEAD_KERNEL", "odd (size-preserving padding)", h.CONV_HEAD_KERNEL)
    # A stride-2 transposed convolution with padding k/2-1 doubles its input exactly only for even k.
    _check(h.DECONV_KERNEL >= 2 and h.DECONV_KERNEL % 2 == 0, p + "DECONV_KERNEL", "even and >= 2", h.DECONV_KERNEL)
    _check(h.UP_SCALE >= 1 and float(h.UP_SCALE).is_integer(), p + "UP_SCALE", "a positive integer", h.UP_SCALE)
    expected_size = h.POOLER_RESOLUTION * 2 * int(h.UP_SCALE)
    _check(
        h.HEATMAP_SIZE == expected_size,
        p + "HEATMAP_SIZE",
        f"POOLER_RESOLUTION * 2 * UP_SCALE = {h.POOLER_RESOLUTION} * 2 * {h.UP_SCALE} = {expected_size}",
        h.HEATMAP_SIZE,
    )
    rules = ("coarse_argmax", "background_below_half")
    rule = h.INFERENCE.FOREGROUND_RULE
    _check(rule in rules, p + "INFERENCE.FOREGROUND_RULE", f"one of {rules}", rule)
    samplings = ("cell_centres", "corners")
    _check(h.LOSS_SAMPLING in samplings, p + "LOSS_SAMPLING", f"one of {samplings}", h.LOSS_SAMPLING)
    _check(0.0 < h.FG_IOU_THRESHOLD <= 1.0, p + "FG_IOU_THRESHOLD", "in (0, 1]", h.FG_IOU_THRESHOLD)
    for key in ("INDEX_WEIGHTS", "PART_WEIGHTS", "POINT_REGRESSION_WEIGHTS"):
        _check(h[key] >= 0.0, p + key, ">= 0", h[key])
