"""Training under torchrun: two CPU processes (gloo) train one model with PyTorch DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support import TINY

from polynlu import NLU
from polynlu.training.distributed import Processes, shard, steps_per_process


def test_each_process_gets_its_own_batches_and_as_many_as_the_others() -> None:
    batches = list(range(7))
    first, second = (shard(batches, Processes(rank, 2)) for rank in (0, 1))
    assert first == [0, 2, 4] and second == [1, 3, 5]  # the seventh is dropped: equal steps
    assert len(first) == steps_per_process(len(batches), Processes(0, 2))
    assert shard(batches, Processes()) == batches
    assert [shard([0], Processes(rank, 2)) for rank in (0, 1)] == [[0], [0]]


def test_torchrun_trains_one_model_with_two_cpu_processes(tmp_path: Path) -> None:
    output = tmp_path / "model"
    result = subprocess.run(
        [
            sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
            "2", "-m", "polynlu", "train", "--data", str(TINY), "--backbone", "tiny-random",
            "--epochs", "2", "--batch-size", "8", "--output", str(output), "--no-progress",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"},
        check=False,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("Trained joint") == 1  # the first process alone reports
    training = json.loads((output / "config.json").read_text())["provenance"]["training"]
    assert training["processes"] == 2
    assert [epoch["epoch"] for epoch in training["history"]] == [1, 2]
    parsed = NLU.load(output).parse("wake me up at five am", "en-US")
    assert parsed.intent in json.loads((output / "config.json").read_text())["intents"]
