"""Teacher outputs -> dense chart labels inside the person (predictions outside it are ignored)."""
from __future__ import annotations

from typing import Tuple

import torch

from densepose_ext.modeling.predictor import DensePoseChartOutput


def teacher_chart_labels(
    outputs: DensePoseChartOutput, person_masks: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Dense labels of N people in their crop frames.

    Args:
        outputs: teacher outputs (N, ., S, S), crop frame.
        person_masks: (N, S, S) bool, the person cells of each crop.
    Returns:
        labels: (N, S, S) uint8: inside the person the arg-max over the fine parts 1..24 (the mask already says
            it is a person, so background is not a candidate); 0 outside, whatever the network predicted there.
        uv: (N, 2, S, S) float32 chart (U, V) in [0, 1] read from the chosen part's channel; 0 outside.
    """
    if person_masks.shape != outputs.fine_segm.shape[:1] + outputs.fine_segm.shape[2:]:
        raise ValueError(
            f"teacher_chart_labels: person_masks of shape {tuple(person_masks.shape)} for outputs of shape "
            f"{tuple(outputs.fine_segm.shape)}; expected (N, S, S)"
        )
    part = outputs.fine_segm[:, 1:].argmax(dim=1) + 1  # (N, S, S) in 1..24
    uv = torch.stack([outputs.u, outputs.v], dim=1).gather(2, part[:, None, None].expand(-1, 2, 1, -1, -1))[:, :, 0]
    inside = person_masks.to(part.device)
    labels = (part * inside).to(torch.uint8)
    return labels, (uv.clamp(0.0, 1.0) * inside[:, None]).float()
