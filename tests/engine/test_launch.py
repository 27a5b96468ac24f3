"""densepose_ext.engine.launch on CPU: gloo workers with detectron2's process groups and CPU DDP."""
import json
import os

import torch
import torch.distributed as dist
from detectron2.utils import comm

from densepose_ext.engine import launch


def _worker(out_dir):
    import detectron2.engine.defaults as d2_defaults

    value = torch.tensor([float(comm.get_rank() + 1)])
    dist.all_reduce(value)
    # detectron2's trainer wraps the model with create_ddp_model; it must accept a CPU module here.
    ddp = d2_defaults.create_ddp_model(torch.nn.Linear(2, 1), broadcast_buffers=False)
    ddp(torch.ones(3, 2)).sum().backward()
    record = {
        "rank": comm.get_rank(), "local_rank": comm.get_local_rank(), "world": comm.get_world_size(),
        "sum": value.item(), "grad": ddp.module.weight.grad.tolist(),
    }
    with open(os.path.join(out_dir, f"rank{comm.get_rank()}.json"), "w") as f:
        json.dump(record, f)


def test_two_cpu_processes_reduce_and_train_ddp(tmp_path):
    launch(_worker, 2, args=(str(tmp_path),), device="cpu")
    records = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [(r["rank"], r["local_rank"], r["world"], r["sum"]) for r in records] == [(0, 0, 2, 3.0), (1, 1, 2, 3.0)]
    assert records[0]["grad"] == records[1]["grad"]  # gradients were averaged across the processes


def test_single_cpu_process_runs_in_place():
    calls = []
    launch(calls.append, 1, args=("ran",), device="cpu")
    assert calls == ["ran"]
