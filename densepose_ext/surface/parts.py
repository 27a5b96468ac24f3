"""The DensePose part vocabulary: fine parts (I), coarse parts (dp_masks) and their mirror maps.

Numbering follows DensePose-COCO (its `dp_I` and the order of its 14 `dp_masks`). "Right"/"left" are the person's own sides.
Label 0 is background in both vocabularies.
"""
from __future__ import annotations

import numpy as np

NUM_FINE_PARTS = 24
NUM_COARSE_PARTS = 14

FINE_PART_NAMES: tuple[str, ...] = (
    "background",
    "torso_back", "torso_front",
    "right_hand", "left_hand", "left_foot", "right_foot",
    "upper_leg_right_back", "upper_leg_left_back", "upper_leg_right_front", "upper_leg_left_front",
    "lower_leg_right_back", "lower_leg_left_back", "lower_leg_right_front", "lower_leg_left_front",
    "upper_arm_left_front", "upper_arm_right_front", "upper_arm_left_back", "upper_arm_right_back",
    "lower_arm_left_front", "lower_arm_right_front", "lower_arm_left_back", "lower_arm_right_back",
    "head_right", "head_left",
)

COARSE_PART_NAMES: tuple[str, ...] = (
    "background", "torso", "right_hand", "left_hand", "left_foot", "right_foot",
    "upper_leg_right", "upper_leg_left", "lower_leg_right", "lower_leg_left",
    "upper_arm_left", "upper_arm_right", "lower_arm_left", "lower_arm_right", "head",
)

# index = label, value = label of the mirrored (left <-> right) part.
FINE_PART_MIRROR = np.array(
    [0, 1, 2, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19, 22, 21, 24, 23],
    dtype=np.int64,
)
COARSE_PART_MIRROR = np.array([0, 1, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 14], dtype=np.int64)

# index = fine label, value = coarse (dp_masks) label containing it.
FINE_TO_COARSE = np.array(
    [0, 1, 1, 2, 3, 4, 5, 6, 7, 6, 7, 8, 9, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 14],
    dtype=np.int64,
)
