"""DensePoseTeacher: losses at annotated points, predictions independent of the grayed-out background."""
import torch
from detectron2.config import get_cfg
from detectron2.modeling import build_model
from detectron2.structures import Boxes, Instances

from densepose_ext.config import add_densepose_config
from densepose_ext.structures.targets import DensePoseList, DensePoseTargets
from densepose_ext.teacher import DensePoseTeacher

BOX = torch.tensor([8.0, 8.0, 40.0, 56.0])  # XYXY image px in a 64 x 64 image


def _teacher(crop_size=16):
    torch.manual_seed(0)
    return DensePoseTeacher(
        crop_size=crop_size, channels=[32, 32, 32], norm="GN", num_coarse_segm_channels=15, num_patches=24,
        pixel_mean=[100.0, 100.0, 100.0], pixel_std=[50.0, 50.0, 50.0],
        part_weight=1.0, point_regression_weight=0.01, index_weight=5.0,
    )


def _coarse_left_half():
    coarse = torch.zeros(256, 256, dtype=torch.uint8)
    coarse[:, :128] = 1  # torso on the left half of the box
    return coarse


def _input(image, with_mask=True):
    targets = DensePoseTargets(
        x=torch.tensor([12.0, 20.0]), y=torch.tensor([20.0, 40.0]), i=torch.tensor([2, 1]),
        u=torch.tensor([0.2, 0.8]), v=torch.tensor([0.5, 0.1]),
        coarse_masks=_coarse_left_half() if with_mask else None, mask_box=BOX.clone(),
    )
    instances = Instances((64, 64), gt_boxes=Boxes(BOX[None]), gt_densepose=DensePoseList([targets]))
    return {"image": image, "instances": instances}


def test_training_losses_reach_every_parameter():
    model = _teacher().train()
    image = torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)
    losses = model([_input(image), _input(image, with_mask=False)])
    assert set(losses) == {"loss_densepose_I", "loss_densepose_U", "loss_densepose_V", "loss_densepose_S"}
    total = sum(losses.values())
    assert torch.isfinite(total) and total > 0
    total.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_batch_without_masks_gives_zero_losses():
    model = _teacher().train()
    losses = model([_input(torch.zeros(3, 64, 64, dtype=torch.uint8), with_mask=False)])
    assert all(v.item() == 0 for v in losses.values())
    sum(losses.values()).backward()  # still connected to the parameters


def test_predictions_ignore_background_pixels():
    # Pixels outside the person (right half of the box and outside it) are grayed out before the network,
    # so changing them changes nothing; outside the mask the labels are 0.
    model = _teacher().eval()
    g = torch.Generator().manual_seed(1)
    image = torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8, generator=g)
    other = image.clone()
    other[:, :, 26:] = torch.randint(0, 255, (3, 64, 38), dtype=torch.uint8, generator=g)  # box x >= 26: not person
    other[:, :6] = 0
    with torch.no_grad():
        a, b = model([_input(image)])[0], model([_input(other)])[0]
    torch.testing.assert_close(a["labels"], b["labels"])
    torch.testing.assert_close(a["uv"], b["uv"])
    assert a["labels"].shape == (1, 16, 16)
    assert torch.all(a["labels"][0, :, 8:] == 0) and torch.all(a["labels"][0, :, :8] > 0)
    assert torch.all(a["uv"][0, :, :, 8:] == 0)


def test_built_from_config():
    cfg = get_cfg()
    add_densepose_config(cfg)
    cfg.merge_from_file("configs/teacher/densepose_teacher_synth_cpu.yaml")
    model = build_model(cfg)
    assert isinstance(model, DensePoseTeacher) and model.crop_size == cfg.MODEL.DENSEPOSE_TEACHER.CROP_SIZE
