"""Same weights, same outputs, same results as the reference: raw outputs on given boxes, the converter on
them, and the whole predictor path (resize, detection, postprocess, conversion) that apply_net dump runs."""
import numpy as np
import pytest

from densepose_ext.inference_io.predictor import BatchPredictor

from .fixtures import (
    LEGACY,
    MIN_LABEL_AGREEMENT,
    NUM_IMAGES,
    S1X,
    UV_TOLERANCE,
    given_box_predictions,
    golden_cfg,
    image,
    label_agreement,
    max_uv_error_where_labels_agree,
    npz,
    summary,
)

FAMILIES = [S1X, LEGACY]
# Relative to the map's largest magnitude: convolutions sum in another order with another thread count (the
# reference ran 2 threads), which moves float32 results by a few ulp of the largest values (measured: 1.1e-5
# absolute on fine-segmentation logits up to ~10).
RAW_TOLERANCE = 1e-5


def _near_ties(family: str, section: str, i: int) -> list:
    """Per box of image i, the pixels the reference flags as near label ties (README: results_summary.json)."""
    entry = next(e for e in summary(family)[section] if e["image"] == i)
    if section == "results":
        return [detection["near_tie_pixels"]["either"] for detection in entry["detections"]]
    return [box["either"] for box in entry["near_tie_pixels"]]


def _assert_results_equal(results, reference: dict, key: str, ties: list) -> None:
    """Our results equal the reference's arrays key.format(k=k, what="labels" / "uv"), k = 0..len(results)-1."""
    for k, result in enumerate(results):
        ref_labels, ref_uv = reference[key.format(k=k, what="labels")], reference[key.format(k=k, what="uv")]
        labels, uv = result.labels.numpy(), result.uv.numpy()
        differ, agreement = label_agreement(labels, ref_labels)
        # Labels are arg-maxes: float rounding can flip only pixels whose top-2 margin is a near tie.
        assert differ <= ties[k] and agreement >= MIN_LABEL_AGREEMENT, (key, k, differ, ties[k])
        assert max_uv_error_where_labels_agree(labels, uv, ref_labels, ref_uv) <= UV_TOLERANCE, (key, k)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("i", range(NUM_IMAGES))
def test_raw_outputs_on_given_boxes_equal_the_references(family, i):
    boxes, predictions = given_box_predictions(family, i)
    reference = npz(f"{family}/head_outputs.npz")
    assert np.array_equal(boxes.numpy(), reference[f"img{i}_boxes"])
    for name in ("coarse_segm", "fine_segm", "u", "v"):
        ours = getattr(predictions.outputs, name).numpy()
        assert ours.shape == reference[f"img{i}_{name}"].shape
        scale = max(1.0, float(np.abs(reference[f"img{i}_{name}"]).max()))
        assert np.abs(ours - reference[f"img{i}_{name}"]).max() <= RAW_TOLERANCE * scale, name


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("i", range(NUM_IMAGES))
def test_converter_on_given_boxes_equals_the_references(family, i):
    boxes, predictions = given_box_predictions(family, i)
    results = predictions.to_results(boxes)
    ties = _near_ties(family, "head_outputs", i)
    _assert_results_equal(results, npz(f"{family}/head_outputs.npz"), f"img{i}_box{{k}}_result_{{what}}", ties)


@pytest.fixture(scope="module", params=FAMILIES)
def predicted(request):
    """(family, per image: the output Instances of the predictor apply_net dump uses)."""
    cfg = golden_cfg(request.param)
    cfg.freeze()
    predictor = BatchPredictor(cfg)
    return request.param, [predictor.predict_batch([image(i)])[0] for i in range(NUM_IMAGES)]


@pytest.mark.parametrize("i", range(NUM_IMAGES))
def test_full_predictor_path_gives_the_references_detections_and_results(predicted, i):
    family, outputs = predicted
    instances, reference = outputs[i], npz(f"{family}/results.npz")
    assert tuple(instances.image_size) == tuple(reference[f"img{i}_image_hw"])
    np.testing.assert_allclose(instances.pred_boxes.tensor.numpy(), reference[f"img{i}_boxes"], rtol=0, atol=1e-3)
    np.testing.assert_allclose(instances.scores.numpy(), reference[f"img{i}_scores"], rtol=0, atol=1e-5)
    assert np.array_equal(instances.pred_classes.numpy(), reference[f"img{i}_classes"])
    results = instances.pred_densepose.to_results(instances.pred_boxes.tensor)  # as apply_net dump converts
    _assert_results_equal(results, reference, f"img{i}_det{{k}}_{{what}}", _near_ties(family, "results", i))
