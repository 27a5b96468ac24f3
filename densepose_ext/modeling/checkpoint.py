"""Checkpoint loading: detectron2's DetectionCheckpointer, refusing DensePose checkpoints that do not fit.

detectron2 loads the tensors that fit and only warns about the others. For a DensePose checkpoint that is
a silent change of network: the reference's s1x weights in a config without the decoder leave 16 decoder
tensors unused and pool from other features; legacy weights (15 coarse channels) in a 2-channel config
skip the coarse predictor. `DensePoseCheckpointer` raises instead, listing the keys and naming the
reference recipe whose architecture the checkpoint has (read from its tensor names and shapes).

What counts as a DensePose checkpoint: one with any `roi_heads.densepose_*` or `roi_heads.decoder.*`
tensor. Other checkpoints (ImageNet backbones, detectron2's Caffe2 conversions) load as detectron2 loads
them, so initialising a backbone stays possible. `allow_mismatch` (MODEL.LOAD_MISMATCHED_DENSEPOSE_WEIGHTS)
restores detectron2's behaviour for DensePose checkpoints too, e.g. to fine-tune into another head.
"""
from __future__ import annotations

import re
from typing import Dict, Iterable, Mapping, Sequence

from detectron2.checkpoint import DetectionCheckpointer

DENSEPOSE_KEY_PREFIXES = ("roi_heads.densepose_", "roi_heads.decoder.")
_HEAD = "roi_heads.densepose_head."
_PREDICTOR = "roi_heads.densepose_predictor."
# Bottleneck ResNets by their number of res4 blocks; BasicBlock ResNets (no conv3) likewise.
_BOTTLENECK_DEPTHS = {6: 50, 23: 101, 36: 152}
_BASIC_DEPTHS = {2: 18, 6: 34}
# Listing every key of a wrong checkpoint would bury the message; the counts are always given.
_MAX_LISTED = 12


def is_densepose_checkpoint(keys: Iterable[str]) -> bool:
    """True when a state dict's `keys` include DensePose branch or decoder tensors."""
    return any(k.startswith(DENSEPOSE_KEY_PREFIXES) for k in keys)


def _resnet_depth(shapes: Mapping[str, Sequence[int]]) -> int | None:
    blocks = {m.group(1) for k in shapes if (m := re.match(r"backbone\.bottom_up\.res4\.(\d+)\.", k))}
    bottleneck = any(re.match(r"backbone\.bottom_up\.res2\.\d+\.conv3\.", k) for k in shapes)
    return (_BOTTLENECK_DEPTHS if bottleneck else _BASIC_DEPTHS).get(len(blocks))


def checkpoint_architecture(shapes: Mapping[str, Sequence[int]]) -> Dict[str, object]:
    """Config values a DensePose checkpoint was trained with, read from its tensor names and shapes.

    Args:
        shapes: {state-dict key: tensor shape} of the checkpoint.
    Returns:
        {config key: value} for the keys that the tensors determine (ResNet depth, decoder, head type, number
        and width of the head's convolutions, coarse channels, UV confidence type).
    """
    h = "MODEL.ROI_DENSEPOSE_HEAD."
    arch: Dict[str, object] = {}
    depth = _resnet_depth(shapes)
    if depth is not None:
        arch["MODEL.RESNETS.DEPTH"] = depth
    arch[h + "DECODER_ON"] = any(k.startswith("roi_heads.decoder.") for k in shapes)
    deeplab = any(k.startswith(_HEAD + "ASPP.") for k in shapes)
    arch[h + "NAME"] = "DensePoseDeepLabHead" if deeplab else "DensePoseV1ConvXHead"
    convs = sorted(k for k in shapes if re.fullmatch(re.escape(_HEAD) + r"body_conv_fcn\d+\.weight", k))
    if convs:
        arch[h + "NUM_STACKED_CONVS"] = len(convs)
        arch[h + "CONV_HEAD_DIM"] = int(shapes[convs[0]][0])
    coarse = shapes.get(_PREDICTOR + "ann_index_lowres.weight")
    if coarse is not None:  # ConvTranspose2d weight: (in, out, k, k)
        arch[h + "NUM_COARSE_SEGM_CHANNELS"] = int(coarse[1])
    if _PREDICTOR + "sigma_2_lowres.weight" in shapes:
        arch[h + "UV_CONFIDENCE.ENABLED"] = True
        aniso = _PREDICTOR + "kappa_u_lowres.weight" in shapes
        arch[h + "UV_CONFIDENCE.TYPE"] = "indep_aniso" if aniso else "iid_iso"
    return arch


def reference_recipe_name(arch: Mapping[str, object]) -> str | None:
    """The reference project's config name for an architecture from `checkpoint_architecture`, None when the
    reference has no recipe of that backbone (it has ResNet-50 and -101 ones)."""
    h = "MODEL.ROI_DENSEPOSE_HEAD."
    depth = arch.get("MODEL.RESNETS.DEPTH")
    if depth not in (50, 101):
        return None
    head = "DL_" if arch.get(h + "NAME") == "DensePoseDeepLabHead" else ""
    confidence = {"iid_iso": "WC1_", "indep_aniso": "WC2_"}.get(str(arch.get(h + "UV_CONFIDENCE.TYPE")), "")
    legacy = "" if arch.get(h + "DECODER_ON") else "_legacy"
    return f"densepose_rcnn_R_{depth}_FPN_{head}{confidence}s1x{legacy}"


def _listed(keys: Sequence[object]) -> str:
    more = f" ... ({len(keys) - _MAX_LISTED} more)" if len(keys) > _MAX_LISTED else ""
    return ", ".join(str(k) for k in keys[:_MAX_LISTED]) + more


def mismatch_message(source: str, incompatible, arch: Mapping[str, object]) -> str:
    """The error for a DensePose checkpoint that does not fit: the keys, and the recipe that fits it.

    Args:
        source: the checkpoint file. incompatible: fvcore's _IncompatibleKeys (missing_keys, unexpected_keys,
            incorrect_shapes as (key, checkpoint shape, model shape)). arch: `checkpoint_architecture`.
    """
    parts = []
    # fvcore drops shape-mismatched tensors before loading, so they come back as missing too: list them once.
    reshaped = {k for k, _, _ in incompatible.incorrect_shapes}
    missing = [k for k in incompatible.missing_keys if k not in reshaped]
    if missing:
        parts.append(f"{len(missing)} missing keys: {_listed(missing)}")
    if incompatible.unexpected_keys:
        parts.append(f"{len(incompatible.unexpected_keys)} unexpected keys: {_listed(incompatible.unexpected_keys)}")
    if incompatible.incorrect_shapes:
        shapes = [f"{k} {tuple(c)} in the checkpoint, {tuple(m)} in the model" for k, c, m in incompatible.incorrect_shapes]
        parts.append(f"{len(shapes)} keys of another shape: {_listed(shapes)}")
    values = ", ".join(f"{k} {v}" for k, v in arch.items())
    recipe = reference_recipe_name(arch)
    fits = (
        f"the reference recipe {recipe} (configs/{recipe}.yaml where this repository has it) with {values}"
        if recipe
        else f"a model with {values} (no reference recipe has this backbone)"
    )
    return (
        f"{source}: this DensePose checkpoint does not fit the model built from the config ({'; '.join(parts)}). "
        f"Its tensors are those of {fits}. Use a config of that architecture, or set "
        "MODEL.LOAD_MISMATCHED_DENSEPOSE_WEIGHTS True to load only the tensors that fit."
    )


class DensePoseCheckpointer(DetectionCheckpointer):
    """DetectionCheckpointer that raises ValueError when a DensePose checkpoint does not fit the model.

    Args:
        model, save_dir, checkpointables: as DetectionCheckpointer.
        allow_mismatch: MODEL.LOAD_MISMATCHED_DENSEPOSE_WEIGHTS; True loads what fits with detectron2's warnings.
    """

    def __init__(self, model, save_dir: str = "", *, allow_mismatch: bool = False, **checkpointables):
        super().__init__(model, save_dir, **checkpointables)
        self.allow_mismatch = allow_mismatch
        self._source = "checkpoint"

    @classmethod
    def from_config(cls, cfg, model, save_dir: str = "", **checkpointables) -> "DensePoseCheckpointer":
        """A checkpointer with allow_mismatch = cfg.MODEL.LOAD_MISMATCHED_DENSEPOSE_WEIGHTS."""
        return cls(model, save_dir, allow_mismatch=cfg.MODEL.LOAD_MISMATCHED_DENSEPOSE_WEIGHTS, **checkpointables)

    def _load_file(self, filename: str):
        self._source = filename  # for the error message; _load_model only sees the loaded dict
        return super()._load_file(filename)

    def _load_model(self, checkpoint):
        shapes = {k: tuple(getattr(v, "shape", ())) for k, v in checkpoint["model"].items()}
        incompatible = super()._load_model(checkpoint)  # pops checkpoint["model"]
        fits = not (incompatible.missing_keys or incompatible.unexpected_keys or incompatible.incorrect_shapes)
        if not fits and not self.allow_mismatch and is_densepose_checkpoint(shapes):
            raise ValueError(mismatch_message(self._source, incompatible, checkpoint_architecture(shapes)))
        return incompatible

