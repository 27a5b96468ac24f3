"""The --device argument: a torch device this machine has, refused by name before a model is built on it; and how
many frames one forward pass takes there under --batch-size auto."""
from __future__ import annotations

import torch


def check_device(name: str) -> str:
    """`name` when it is a torch device this machine has ("cpu", "cuda", "cuda:1"); ValueError saying what it has."""
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise ValueError(f"expected a torch device such as cpu, cuda or cuda:0, found {name!r}") from e
    if device.type == "cpu":
        return name
    if device.type != "cuda":
        raise ValueError(f"expected cpu or cuda[:N] (the devices detectron2 runs on), found {name!r}")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if (device.index or 0) >= count:
        raise ValueError(f"expected a device of this machine (cpu{', cuda:0..' + str(count - 1) if count else ''}), "
                         f"found {name!r}: {count} CUDA device(s)")
    return name


# `--batch-size auto` on the CPU: at most this many model input pixels per forward pass (4 images of 256 x 256
# px), and at most CPU_MAX_BATCH images. Measured on 2 cores, 1 thread (BENCHMARKS.md, 2026-12-05), process CPU
# time per image of `dump` against batch size 1: the CPU recipe (input short side 256 px) -5 % at batch 2, -7 %
# at 4, -4 % at 8; the reference R-50-FPN (800 px) -2 % at 2, +9 % at 4. Small inputs gain from sharing each
# operation's fixed cost; large ones lose once a batch's features outgrow the caches.
CPU_BATCH_PIXELS = 4 * 256 * 256
CPU_MAX_BATCH = 4
# A GPU needs batches to be busy; 16 images of 800 x 1333 px take a few GiB in inference (not measured here).
CUDA_MAX_BATCH = 16


def auto_batch_size(device: str, min_size_test: int) -> int:
    """The most frames `--batch-size auto` puts in one forward pass on torch device `device` ("cpu", "cuda:1")
    for a model resizing its input to a short side of `min_size_test` px (INPUT.MIN_SIZE_TEST; 0: no resize,
    so of unknown size: one frame at a time on the CPU)."""
    if torch.device(device).type == "cuda":
        return CUDA_MAX_BATCH
    if min_size_test <= 0:
        return 1
    return max(1, min(CPU_MAX_BATCH, CPU_BATCH_PIXELS // min_size_test ** 2))
