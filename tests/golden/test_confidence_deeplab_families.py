"""Golden tests of the reference's UV-confidence (WC1, WC2) and DeepLab-head (DL, DL_WC1) families: the
checkpoint fills every tensor, raw outputs (confidences included) and per-detection results equal the
reference's (fixtures.py; tests/data/golden/README.md describes the files).

The reference computed the fixtures with 2 CPU threads; the outputs are compared under the same thread count.
The DeepLab families amplify float32 rounding (their raw outputs computed in float64 differ from the
reference's float32 ones by up to 1.4e-4), so another summation order, e.g. 1 thread, exceeds 1e-5 there.
"""
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from detectron2.data import transforms as T

from .fixtures import (
    FROM_CONFIG,
    MIN_LABEL_AGREEMENT,
    NUM_IMAGES,
    UV_TOLERANCE,
    given_box_predictions,
    golden_cfg,
    golden_model,
    image,
    label_agreement,
    max_uv_error_where_labels_agree,
    npz,
    reference_weights,
)
from .test_configs import test_config_equals_the_references_merged_config as check_config_equals_reference

# family -> the confidence outputs its predictor adds
FAMILIES = {
    "densepose_rcnn_R_50_FPN_WC1_s1x": ("sigma_2",),
    "densepose_rcnn_R_50_FPN_WC2_s1x": ("sigma_2", "kappa_u", "kappa_v"),
    "densepose_rcnn_R_50_FPN_DL_s1x": (),
    "densepose_rcnn_R_50_FPN_DL_WC1_s1x": ("sigma_2",),
}
REFERENCE_THREADS = 2


@contextmanager
def reference_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(REFERENCE_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("family", FAMILIES)
def test_config_equals_the_references_merged_config(family):
    check_config_equals_reference(family)


@pytest.mark.parametrize("family", FAMILIES)
def test_checkpoint_fills_every_tensor_of_the_selected_head_and_predictor(family):
    model = golden_model(family)
    state = {k: v for k, v in model.state_dict().items() if k not in FROM_CONFIG}
    reference = reference_weights(family)
    assert sorted(state) == sorted(reference)  # 0 missing, 0 unexpected
    assert [k for k in reference if not np.array_equal(state[k].numpy(), reference[k])] == []
    head = "DensePoseDeepLabHead" if "_DL_" in family else "DensePoseV1ConvXHead"
    assert type(model.roi_heads.densepose_head).__name__ == head


@pytest.mark.parametrize("family", FAMILIES)
def test_raw_outputs_equal_the_reference(family):
    with reference_threads():
        _, predictions = given_box_predictions(family, 0)
    outputs, expected = predictions.outputs, npz(f"{family}/head_outputs.npz")
    fields = ("coarse_segm", "fine_segm", "u", "v") + FAMILIES[family]
    assert list(outputs.maps()) == list(fields)
    for name in fields:
        np.testing.assert_allclose(getattr(outputs, name).numpy(), expected[f"img0_{name}"], rtol=0, atol=1e-5,
                                   err_msg=name)


def _detect(family: str, i: int):
    """The reference's apply_net path: ResizeShortestEdge to INPUT.MIN/MAX_SIZE_TEST, the model, its output
    Instances in the original image (detectron2's DefaultPredictor steps, on the fixture's model)."""
    cfg, model = golden_cfg(family), golden_model(family)
    img = image(i)
    resized = T.ResizeShortestEdge(cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST).get_transform(img).apply_image(img)
    tensor = torch.from_numpy(resized.astype(np.float32).transpose(2, 0, 1))
    with torch.no_grad(), reference_threads():
        return model([{"image": tensor, "height": img.shape[0], "width": img.shape[1]}])[0]["instances"]


@pytest.mark.parametrize("family", FAMILIES)
def test_results_with_confidences_equal_the_references_dump(family):
    expected = npz(f"{family}/results.npz")
    for i in range(NUM_IMAGES):
        instances = _detect(family, i)
        np.testing.assert_allclose(instances.pred_boxes.tensor.numpy(), expected[f"img{i}_boxes"], atol=1e-3)
        np.testing.assert_allclose(instances.scores.numpy(), expected[f"img{i}_scores"], atol=1e-5)
        for k, result in enumerate(instances.pred_densepose.to_results(instances.pred_boxes.tensor)):
            key = f"img{i}_det{k}"
            labels = result.labels.numpy()
            assert label_agreement(labels, expected[f"{key}_labels"])[1] >= MIN_LABEL_AGREEMENT, key
            uv_error = max_uv_error_where_labels_agree(labels, result.uv.numpy(), expected[f"{key}_labels"],
                                                       expected[f"{key}_uv"])
            assert uv_error <= UV_TOLERANCE, key
            assert list(result.confidences) == list(FAMILIES[family]), key
            same = labels == expected[f"{key}_labels"]
            for name, values in result.confidences.items():
                error = np.abs(values.numpy() - expected[f"{key}_{name}"])[same].max(initial=0.0)
                assert error <= UV_TOLERANCE, f"{key} {name}: {error}"
