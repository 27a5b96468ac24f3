"""End to end: a tiny DensePose R-CNN overfits a few rendered images and learns their parts."""
import time

import numpy as np
import torch
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from .tiny import blob_dataset, gt_boxes_as_detections, tiny_cfg


def _part_accuracy(model, inputs):
    """Share of annotated points whose predicted label (at the GT box) equals the annotated part,
    and the mean |U error| of the correctly labelled points."""
    model.eval()
    with torch.no_grad():
        outputs = model.inference(inputs, detected_instances=gt_boxes_as_detections(inputs), do_postprocess=False)
    hits, u_err = [], []
    for x, out in zip(inputs, outputs):
        (t,) = list(x["instances"].gt_densepose)
        r = out.pred_densepose.to_results(out.pred_boxes.tensor)[0]
        h, w = r.labels.shape
        x0, y0, x1, y1 = out.pred_boxes.tensor[0].tolist()  # the result's grid lies over its detection box
        col = ((t.x - x0) / (x1 - x0) * w).long().clamp(0, w - 1)
        row = ((t.y - y0) / (y1 - y0) * h).long().clamp(0, h - 1)
        label = r.labels[row, col].long()
        hits.append(label == t.i)
        u_err.append((r.uv[0, row, col] - t.u)[label == t.i].abs())
    return torch.cat(hits).float().mean().item(), torch.cat(u_err).mean().item()


def test_tiny_model_overfits_blob_people():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    cfg = tiny_cfg()
    model = build_model(cfg)
    inputs = blob_dataset(4, seed=0, size=(64, 64))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    acc_before, _ = _part_accuracy(model, inputs)
    history = []
    start = time.perf_counter()
    model.train()
    with EventStorage(0) as storage:
        for it in range(80):
            batch = [inputs[(2 * it) % 4], inputs[(2 * it + 1) % 4]]
            losses = model(batch)
            history.append({k: v.item() for k, v in losses.items()})
            optimizer.zero_grad()
            sum(losses.values()).backward()
            optimizer.step()
            storage.step()
    elapsed = time.perf_counter() - start
    acc_after, u_error = _part_accuracy(model, inputs)

    def mean(name, sl):
        return float(np.mean([h[name] for h in history[sl]]))

    for name in ("loss_densepose_I", "loss_densepose_S", "loss_densepose_U"):
        assert mean(name, slice(-10, None)) < 0.5 * mean(name, slice(0, 10)), name
    assert acc_before < 0.5 < 0.9 < acc_after, (acc_before, acc_after)
    assert u_error < 0.15, u_error
    print(f"overfit: {elapsed:.1f} s, part accuracy {acc_before:.2f} -> {acc_after:.2f}, |dU| {u_error:.3f}")
