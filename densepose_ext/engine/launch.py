"""`launch` like detectron2's, that also runs several processes on CPU-only machines.

detectron2 0.6's `launch` asserts that CUDA is available and always uses NCCL, and its
`create_ddp_model` passes `device_ids=[local_rank]`, which DistributedDataParallel rejects for CPU
modules. For a CPU device this launcher starts the workers itself with the gloo backend, sets up
detectron2's per-machine process group, and makes `create_ddp_model` wrap CPU models without
`device_ids`. For CUDA devices it simply calls detectron2's `launch`.
"""
from __future__ import annotations

import functools
import socket
from datetime import timedelta
from typing import Callable, Sequence

import detectron2.engine.defaults as d2_defaults
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from detectron2.engine import launch as d2_launch
from detectron2.utils import comm

_TIMEOUT = timedelta(minutes=30)


def _free_local_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(
    main_func: Callable,
    num_processes_per_machine: int,
    num_machines: int = 1,
    machine_rank: int = 0,
    dist_url: str | None = None,
    args: Sequence = (),
    *,
    device: str,
) -> None:
    """Run `main_func(*args)` in num_processes_per_machine x num_machines processes.

    Args:
        device: the model's device (cfg.MODEL.DEVICE); "cpu" selects gloo workers, anything else
            defers to detectron2's launch (one process per GPU).
        dist_url: as in detectron2 ("auto" or None picks a free local port; single machine only).
    """
    if torch.device(device).type != "cpu":
        d2_launch(main_func, num_processes_per_machine, num_machines, machine_rank, dist_url, args)
        return
    world_size = num_processes_per_machine * num_machines
    if world_size == 1:
        main_func(*args)
        return
    if dist_url in (None, "auto"):
        if num_machines != 1:
            raise ValueError("launch: dist_url='auto' needs num_machines == 1; pass tcp://HOST:PORT")
        dist_url = f"tcp://127.0.0.1:{_free_local_port()}"
    mp.spawn(
        _cpu_worker,
        nprocs=num_processes_per_machine,
        args=(main_func, world_size, num_processes_per_machine, machine_rank, dist_url, tuple(args)),
        daemon=False,
    )


def _cpu_worker(local_rank, main_func, world_size, per_machine, machine_rank, dist_url, args):
    dist.init_process_group(
        backend="gloo",
        init_method=dist_url,
        world_size=world_size,
        rank=machine_rank * per_machine + local_rank,
        timeout=_TIMEOUT,
    )
    # detectron2's comm helpers (get_local_rank, ...) read this per-machine group.
    for m in range(world_size // per_machine):
        group = dist.new_group(list(range(m * per_machine, (m + 1) * per_machine)))
        if m == machine_rank:
            comm._LOCAL_PROCESS_GROUP = group
    # Two processes on a shared CPU: one intra-op thread each avoids oversubscription.
    torch.set_num_threads(1)
    # DistributedDataParallel accepts CPU modules only with device_ids=None.
    d2_defaults.create_ddp_model = functools.partial(d2_defaults.create_ddp_model, device_ids=None)
    comm.synchronize()
    try:
        main_func(*args)
    finally:
        dist.destroy_process_group()
