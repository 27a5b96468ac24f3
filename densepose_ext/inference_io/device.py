"""The --device argument: a torch device this machine has, refused by name before a model is built on it."""
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
