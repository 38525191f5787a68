"""Data-parallel training under ``torchrun``: PyTorch DDP, gloo on CPUs and NCCL on GPUs.

``torchrun --nproc-per-node N -m polynlu train ...`` starts N processes with ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE`` set. The trainer joins them into one process group, wraps
its network in ``DistributedDataParallel`` (gradients averaged every step), gives each
process every N-th batch of the epoch, and lets the first process alone evaluate, write the
model and checkpoints, and log. Each process takes ``batch_size`` examples a step, so a step
sees N times as many as one process does (the learning rate is not scaled), and an epoch
takes 1/N of the steps. Without ``torchrun`` nothing of this runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class Processes:
    """This process's place among the training processes (one, without torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """The process that evaluates, saves and logs."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def current_processes() -> Processes:
    """What ``torchrun`` (or any launcher that sets the same variables) started."""
    return Processes(
        rank=int(os.environ.get("RANK", 0)),
        world_size=int(os.environ.get("WORLD_SIZE", 1)),
        local_rank=int(os.environ.get("LOCAL_RANK", 0)),
    )


def join_processes(device: torch.device) -> Processes:
    """Join the process group (once), with the backend the device needs."""
    processes = current_processes()
    if processes.distributed and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return processes


def process_device(device: torch.device, processes: Processes) -> torch.device:
    """One GPU a process: ``cuda`` becomes ``cuda:LOCAL_RANK`` when several run."""
    if device.type == "cuda" and processes.distributed and device.index is None:
        device = torch.device("cuda", processes.local_rank)
        torch.cuda.set_device(device)
    return device


def shard(batches: Sequence[T], processes: Processes) -> list[T]:
    """This process's batches: every N-th, the same number in each process (DDP steps
    together; the few left over are dropped, as ``DistributedSampler`` does)."""
    if not processes.distributed:
        return list(batches)
    per_process = len(batches) // processes.world_size
    if per_process == 0:  # fewer batches than processes: each takes one, some twice
        return [batches[processes.rank % len(batches)]]
    return list(batches[processes.rank :: processes.world_size][:per_process])


def steps_per_process(steps: int, processes: Processes) -> int:
    """How many of ``steps`` batches ``shard`` gives each process."""
    return len(shard(range(steps), processes))


def from_main(value: T, processes: Processes) -> T:
    """The main process's ``value``, in every process (epoch scores, so that all of them
    stop and save on the same epoch)."""
    if not processes.distributed:
        return value
    box: list[Any] = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]  # type: ignore[no-any-return]


def wait_for_all(processes: Processes) -> None:
    if processes.distributed:
        dist.barrier()
