import copy

import numpy as np
import pytest
from detectron2.config import get_cfg
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.data import detection_utils as utils
from detectron2.data import transforms as T
from detectron2.structures import polygons_to_bitmask
from PIL import Image

from densepose_ext.data.dataset_mapper import DensePoseDatasetMapper
from densepose_ext.data.datasets import register_densepose_coco
from densepose_ext.data.validate import DensePoseFormatError
from densepose_ext.surface.source import SurfaceSource

from .helpers import FakeSurface, rle, write_dataset
from .test_transforms import _assert_same, _hflip_reference

NAME = "densepose_test_mapper_tiny"
# Person 11 of image 1 (80 x 60) in image px: x = 8 + dp_x / 4, y = 4 + dp_y * 48 / 256.
X_11 = [8.0, 40.0, 58.0, 71.875]
Y_11 = [4.0, 16.0, 28.0, 50.875]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """dataset dicts of the tiny dataset, registered under NAME; image 1 is black with a white 5x5 block
    centred on every point of person 11, so points can be checked against image content."""
    root = tmp_path_factory.mktemp("tiny")
    json_file = write_dataset(str(root))
    image = np.zeros((60, 80, 3), np.uint8)
    for x, y in zip(X_11, Y_11):
        c, r = int(x), int(y)
        image[max(r - 2, 0): r + 3, max(c - 2, 0): c + 3] = 255
    Image.fromarray(image).save(str(root / "images" / "000001.png"))
    register_densepose_coco(NAME, json_file, str(root / "images"), SurfaceSource("anny"))
    yield {d["image_id"]: d for d in DatasetCatalog.get(NAME)}
    DatasetCatalog.remove(NAME)
    MetadataCatalog.remove(NAME)


def _mapper(augmentations, is_train=True) -> DensePoseDatasetMapper:
    return DensePoseDatasetMapper(
        is_train=is_train, augmentations=augmentations, image_format="RGB", use_keypoint=True,
        keypoint_hflip_indices=np.array(utils.create_keypoint_hflip_indices([NAME])), surface=FakeSurface(),
    )


def _map(dataset, augmentations, image_id=1):
    return _mapper(augmentations)(copy.deepcopy(dataset[image_id]))


def test_untransformed_image_gives_hand_computed_targets_and_drops_crowd(dataset):
    out = _map(dataset, [])
    instances = out["instances"]
    assert len(instances) == 2  # person 11, person 12; crowd 13 dropped
    assert instances.gt_densepose.has_targets.tolist() == [True, False]
    t = next(iter(instances.gt_densepose))
    assert t.x.tolist() == X_11 and t.y.tolist() == Y_11
    assert t.i.tolist() == [1, 3, 15, 24]
    assert t.mask_box.tolist() == [8.0, 4.0, 72.0, 52.0]
    assert instances.gt_boxes.tensor[0].tolist() == [8.0, 4.0, 72.0, 52.0]
    assert int((t.coarse_masks == 14).sum()) == 64 * 64


def test_flip_through_the_mapper_equals_the_mirror_map_of_the_original(dataset, fake_surface):
    plain = _map(dataset, [])["instances"]
    flipped = _map(dataset, [T.HFlipTransform(80)])["instances"]
    original = next(iter(plain.gt_densepose))
    _assert_same(next(iter(flipped.gt_densepose)), _hflip_reference(original, 80, fake_surface))
    assert flipped.gt_densepose.has_targets.tolist() == [True, False]
    # Keypoints flip as detectron2 does it with the dataset's flip map: left_eye (1) and right_eye (2) swap.
    kp, kp_flipped = plain.gt_keypoints.tensor[0], flipped.gt_keypoints.tensor[0]
    assert kp_flipped[2, 0].item() == pytest.approx(80 - kp[1, 0].item())
    assert kp_flipped[1, 0].item() == pytest.approx(80 - kp[2, 0].item())


def test_flipping_twice_gives_back_the_targets(dataset, fake_surface):
    plain = next(iter(_map(dataset, [])["instances"].gt_densepose))
    twice = next(iter(_map(dataset, [T.HFlipTransform(80), T.HFlipTransform(80)])["instances"].gt_densepose))
    _assert_same(twice, plain)


def test_points_stay_on_their_image_content_through_resize_flip_and_crop(dataset, fake_surface):
    augmentations = [
        T.ResizeShortestEdge(120, max_size=1000),  # 80 x 60 -> 160 x 120
        T.RandomFlip(prob=1.0),
        T.CropTransform(30, 0, 120, 100),
    ]
    out = _map(dataset, augmentations)
    image = out["image"]  # (3, H, W) uint8
    assert tuple(image.shape) == (3, 100, 120)
    t = next(iter(out["instances"].gt_densepose))
    # x' = 160 - 2x - 30 for x in X_11: [114, 50, 14, -3.75]; the last point left the crop.
    assert t.x.tolist() == pytest.approx([114.0, 50.0, 14.0])
    assert t.y.tolist() == pytest.approx([8.0, 32.0, 56.0])
    assert (image[:, t.y.long(), t.x.long()] > 200).all()  # every point still sits on its white block
    # Relative to the (transformed) annotated box, positions are those of the box-256 frame, mirrored.
    x0, y0, x1, y1 = t.mask_box.tolist()
    assert ((x1 - t.x) / (x1 - x0) * 256).tolist() == pytest.approx([0.0, 128.0, 200.0])
    assert ((t.y - y0) / (y1 - y0) * 256).tolist() == pytest.approx([0.0, 64.0, 128.0])


def test_instances_removed_by_a_crop_keep_densepose_aligned(dataset):
    # Rows 53..59 only: person 11 (y up to 52) is cropped away, person 12 (y 30..55) stays.
    instances = _map(dataset, [T.CropTransform(0, 53, 80, 7)])["instances"]
    assert len(instances) == 1
    assert instances.gt_densepose.has_targets.tolist() == [False]


def test_malformed_annotation_names_image_and_annotation(dataset):
    record = copy.deepcopy(dataset[2])
    record["annotations"][0]["dp_I"][1] = 0.0
    with pytest.raises(DensePoseFormatError, match=r"image 2, annotation 21: dp_I: expected integer-valued"):
        _mapper([])(record)


def test_inference_mode_keeps_no_annotations(dataset):
    out = _mapper([], is_train=False)(copy.deepcopy(dataset[1]))
    assert "instances" not in out and "annotations" not in out
    assert tuple(out["image"].shape) == (3, 60, 80)


def test_batch_of_mapped_images_concatenates(dataset):
    from detectron2.structures import Instances

    both = Instances.cat([
        _map(dataset, [T.ResizeTransform(60, 80, 30, 40)])["instances"],
        _map(dataset, [T.ResizeTransform(30, 40, 30, 40)], image_id=2)["instances"],
    ])
    assert both.gt_densepose.has_targets.tolist() == [True, False, True]
    assert [len(t) for t in both.gt_densepose if t is not None] == [4, 2]


def test_from_config_builds_detectron2_augmentations_and_refuses_rotation(dataset):
    cfg = get_cfg()
    cfg.MODEL.KEYPOINT_ON = True
    cfg.DATASETS.TRAIN = (NAME,)
    mapper = DensePoseDatasetMapper(cfg, is_train=True)
    kinds = [type(a).__name__ for a in mapper.augmentations.augs]
    assert kinds == ["ResizeShortestEdge", "RandomFlip"]
    assert list(mapper.keypoint_hflip_indices[:3]) == [0, 2, 1]

    cfg.INPUT.ROTATION_ANGLES = [0, 30]  # a reference-project key
    with pytest.raises(ValueError, match=r"INPUT.ROTATION_ANGLES: expected \[0\]"):
        DensePoseDatasetMapper(cfg, is_train=True)
    DensePoseDatasetMapper(cfg, is_train=False)  # inference does not augment


def test_config_random_flip_mirrors_about_half_the_samples(dataset):
    cfg = get_cfg()
    cfg.INPUT.MIN_SIZE_TRAIN = (60,)
    cfg.DATASETS.TRAIN = (NAME,)
    mapper = DensePoseDatasetMapper(cfg, is_train=True)
    np.random.seed(0)
    flips = [float(next(iter(mapper(copy.deepcopy(dataset[1]))["instances"].gt_densepose)).x[0]) for _ in range(8)]
    assert set(flips) == {8.0, 72.0}  # RandomFlip(0.5): both outcomes occur, x = 8 or 80 - 8


# detectron2's augmentations other than rotation, each with arguments that keep some points in view.
DETECTRON2_AUGMENTATIONS = {
    "Resize": lambda: T.Resize((90, 100)),
    "ResizeScale": lambda: T.ResizeScale(0.8, 1.5, 60, 80),
    "RandomCrop": lambda: T.RandomCrop("relative_range", (0.7, 0.7)),
    "FixedSizeCrop": lambda: T.FixedSizeCrop((50, 70)),  # crop, then pad to 50 x 70
    "RandomExtent": lambda: T.RandomExtent((0.9, 1.1), (0.1, 0.1)),
    "RandomFlip(vertical)": lambda: T.RandomFlip(1.0, horizontal=False, vertical=True),
    "RandomBrightness": lambda: T.RandomBrightness(0.8, 1.2),
    "RandomContrast": lambda: T.RandomContrast(0.8, 1.2),
    "RandomSaturation": lambda: T.RandomSaturation(0.8, 1.2),
    "RandomLighting": lambda: T.RandomLighting(0.1),
}


@pytest.mark.parametrize("name", sorted(DETECTRON2_AUGMENTATIONS))
def test_every_detectron2_augmentation_keeps_points_on_their_content(dataset, fake_surface, name):
    np.random.seed(0)
    points_seen = 0
    for _ in range(3):
        out = _map(dataset, [DETECTRON2_AUGMENTATIONS[name](), T.RandomFlip(0.5)])
        image = out["image"].float().mean(dim=0)  # (H, W)
        height, width = image.shape
        for t in out["instances"].gt_densepose:
            if t is None:
                continue
            assert ((t.x >= 0) & (t.x < width) & (t.y >= 0) & (t.y < height)).all()
            assert (image[t.y.long(), t.x.long()] > 150).all(), name
            points_seen += len(t)
    assert points_seen >= 3


def test_instance_masks_and_recomputed_boxes_stay_aligned_with_densepose(dataset):
    # MODEL.MASK_ON with a crop: detectron2 recomputes boxes from the masks, then filters empty ones.
    mapper = DensePoseDatasetMapper(
        is_train=True, augmentations=[T.CropTransform(0, 53, 80, 7)], image_format="RGB",
        use_instance_mask=True, instance_mask_format="bitmask", recompute_boxes=True,
    )
    record = copy.deepcopy(dataset[1])
    for ann in record["annotations"]:  # RLE, as DensePose-Synth writes (cropping polygons would need shapely)
        ann["segmentation"] = rle(polygons_to_bitmask(ann["segmentation"], 60, 80))
    instances = mapper(record)["instances"]
    assert len(instances) == 1 and tuple(instances.gt_masks.tensor.shape) == (1, 7, 80)
    assert instances.gt_densepose.has_targets.tolist() == [False]  # person 12, not the cropped-away person 11
    assert instances.gt_boxes.tensor[0].tolist() == [50.0, 0.0, 70.0, 2.0]
