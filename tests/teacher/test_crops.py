"""Teacher input preparation: crop frame, scale normalisation and the gray background."""
import torch

from densepose_ext.teacher.crops import person_crops, person_masks_in_boxes, stack_boxes


def _x_ramp(height=40, width=60):
    """(1, 3, H, W) image whose value is the image-px x of the pixel centre (x + 0.5)."""
    x = torch.arange(width, dtype=torch.float32) + 0.5
    return x.expand(1, 3, height, width).clone()


def test_crop_cells_sample_the_box_frame():
    # Bilinear interpolation of a linear ramp is exact: crop cell c holds x0 + (c + 0.5) w / S.
    box = torch.tensor([[10.0, 5.0, 30.0, 25.0]])
    masks = torch.ones(1, 4, 4, dtype=torch.bool)
    crop = person_crops(_x_ramp(), torch.zeros(1, dtype=torch.long), box, masks)
    expected = 10.0 + (torch.arange(4) + 0.5) * 20.0 / 4
    assert crop.shape == (1, 3, 4, 4)
    torch.testing.assert_close(crop[0, 1], expected.expand(4, 4))


def _plane(size, scale):
    """(1, 3, size, size) image of f(x, y) = 0.3 x + 0.7 y at image px / `scale` (pixel centres)."""
    c = (torch.arange(size, dtype=torch.float32) + 0.5) / scale
    return (0.3 * c[None, :] + 0.7 * c[:, None]).expand(1, 3, size, size).clone()


def test_scale_normalisation_same_person_two_sizes():
    # The same scene at twice the resolution, with the box scaled alike, gives the same crop: the crop
    # depends on the box frame only (bilinear sampling is exact on a plane).
    masks = torch.ones(1, 8, 8, dtype=torch.bool)
    a = person_crops(_plane(64, 1.0), torch.zeros(1, dtype=torch.long), torch.tensor([[8.0, 8, 16, 24]]), masks)
    b = person_crops(_plane(128, 2.0), torch.zeros(1, dtype=torch.long), torch.tensor([[16.0, 16, 32, 48]]), masks)
    torch.testing.assert_close(a, b)


def test_background_is_gray_and_person_untouched():
    image = torch.full((2, 3, 20, 20), 7.0)
    image[1] = -3.0
    boxes = torch.tensor([[0.0, 0, 20, 20], [0.0, 0, 20, 20]])
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[0, :, :2] = True  # left half is person
    masks[1, 1:3, 1:3] = True
    crops = person_crops(image, torch.tensor([0, 1]), boxes, masks)
    assert torch.all(crops[0][:, :, :2] == 7.0) and torch.all(crops[0][:, :, 2:] == 0.0)
    assert torch.all(crops[1][:, 1:3, 1:3] == -3.0)
    assert torch.all(crops[1][:, ~masks[1]] == 0.0)


def test_person_masks_follow_coarse_labels_in_box_frame():
    coarse = torch.zeros(1, 256, 256, dtype=torch.uint8)
    coarse[0, :, :128] = 14  # left half of the annotated box: head
    box = torch.tensor([[4.0, 4, 36, 36]])
    same = person_masks_in_boxes(coarse, box, box, 8)
    assert same[0, :, :4].all() and not same[0, :, 4:].any()
    # A crop box twice as wide, starting at the same corner: the person fills its left quarter only.
    wide = person_masks_in_boxes(coarse, box, torch.tensor([[4.0, 4, 68, 36]]), 8)
    assert wide[0, :, :2].all() and not wide[0, :, 2:].any()


def test_empty_and_stacking():
    empty = person_crops(torch.zeros(1, 3, 8, 8), torch.zeros(0, dtype=torch.long), torch.zeros(0, 4),
                         torch.zeros(0, 5, 5, dtype=torch.bool))
    assert empty.shape == (0, 3, 5, 5)
    boxes, index = stack_boxes([torch.zeros(2, 4), torch.zeros(0, 4), torch.ones(1, 4)])
    assert boxes.shape == (3, 4) and index.tolist() == [0, 0, 2]
