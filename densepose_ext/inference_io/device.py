"""The --device argument: a torch device this machine has, refused by name before a model is built on it; how
many frames one forward pass takes there under --batch-size auto, and how many passes run at once under
--workers auto."""
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


# `--batch-size auto` on the CPU: at most this many model input pixels per forward pass (2 images of 256 x 256
# px), and at most CPU_MAX_BATCH images. Measured on 2 cores (BENCHMARKS.md, 2026-12-05), `dump` images/s of the
# CPU recipe (input short side 256 px) with two forward passes at once (--workers auto), best of 3: batch 2
# 1.52x the old loop, 3 1.52x, 4 1.47x, 1 1.42x; with one pass of one thread, process CPU time per image against
# batch 1: -5 % at 2, -7 % at 4, -4 % at 8; the reference R-50-FPN (800 px) -2 % at 2, +9 % at 4. Small inputs
# gain from sharing each operation's fixed cost; large ones, and passes running side by side, lose once their
# features outgrow the caches.
CPU_BATCH_PIXELS = 2 * 256 * 256
CPU_MAX_BATCH = 2
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


# `--workers auto` on the CPU: one forward pass per torch thread, at most CPU_MAX_WORKERS at once (the rest of the
# threads shared out among them). Measured on 2 cores (BENCHMARKS.md, 2026-12-05): one image at 256 px takes the
# CPU recipe's forward pass 82 ms on one torch thread or two, while two passes of one thread each, side by side,
# give 1.9x the images/s. The cap keeps Python's share of each pass (the GIL) from queueing many
# workers on larger machines; it is not measured beyond 2 cores.
CPU_MAX_WORKERS = 4


def auto_workers(device: str) -> int:
    """How many batches `--workers auto` predicts at once on torch device `device`: on the CPU one per torch
    thread (torch.get_num_threads(), which follows OMP_NUM_THREADS), up to CPU_MAX_WORKERS; on a GPU one (its
    kernels queue on one stream)."""
    if torch.device(device).type == "cuda":
        return 1
    return max(1, min(CPU_MAX_WORKERS, torch.get_num_threads()))
