"""The speed / size / accuracy ladder: teacher, student, exported int8 student.

    python benchmarks/ladder.py runs/zero-shot runs/student runs/student-int8

For each model folder: parameters, size on disk (the model's own files: checkpoints and
evaluation reports left out), peak memory of a process that loads it and parses, parse latency
at batch 1 on one thread (median, p99), throughput at batch 64 on two threads, and dev exact
match / intent accuracy / slot F1 averaged over the 51 locales other than en-US and on en-US.
Accuracy comes from MODEL/eval/metrics.json (``polynlu evaluate MODEL --output MODEL/eval``),
which the script writes first where it is missing. Each model is timed in a fresh process.
Writes benchmarks/results/ladder.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import write_result
from rich.console import Console
from rich.table import Table
from zero_shot import SHARED

from polynlu.models.base import model_size_bytes, read_model_config


def measure(folder: Path, data: str) -> dict[str, Any]:
    """Runs in its own process: load, time, report peak memory. An exported model never
    imports PyTorch here, so its peak memory is that of the slim runtime."""
    from polynlu import NLU
    from polynlu.data import MassiveData
    from polynlu.data.massive import cap_per_locale
    from polynlu.models.onnx import OnnxModel

    dataset = MassiveData(data)
    # One locale at a time, so that the peak memory is the model's, not the data set's.
    examples = [
        example
        for locale in dataset.locales
        for example in cap_per_locale(
            dataset.read([locale], "dev", show_progress=False).examples, 20
        )
    ]
    examples.sort(key=lambda e: hash(e.utt) % 9973)
    nlu = NLU.load(folder, detect_language=False)

    def threads(n: int) -> None:
        if isinstance(nlu.model, OnnxModel):
            nlu.model.set_threads(n)
        else:
            import torch

            torch.set_num_threads(n)

    threads(1)
    for e in examples[:30]:
        nlu.parse(e.utt, e.locale)
    single = []
    for e in examples[:400]:
        started = time.perf_counter()
        nlu.parse(e.utt, e.locale)
        single.append((time.perf_counter() - started) * 1000)
    threads(2)
    batches = [examples[i : i + 64] for i in range(0, len(examples), 64)]
    nlu.parse_batch([e.utt for e in batches[0]], [e.locale for e in batches[0]])
    started = time.perf_counter()
    for batch in batches:
        nlu.parse_batch([e.utt for e in batch], [e.locale for e in batch])
    elapsed = time.perf_counter() - started
    return {
        "parameters": nlu.model.parameter_count(),
        "batch1_median_ms": round(statistics.median(single), 2),
        "batch1_p99_ms": round(float(np.percentile(single, 99)), 2),
        "batch64_utterances_per_s": round(sum(len(b) for b in batches) / elapsed, 1),
        "peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def accuracy(folder: Path, data: str) -> dict[str, Any]:
    metrics_path = folder / "eval" / "metrics.json"
    if not metrics_path.is_file():
        subprocess.run(
            [sys.executable, "-m", "polynlu", "evaluate", str(folder), "--data", data,
             "--split", "dev", "--locales", "all", "--output", str(folder / "eval")],
            check=True,
        )  # fmt: skip
    locales = json.loads(metrics_path.read_text("utf-8"))["locales"]
    unseen = [scores for locale, scores in locales.items() if locale != "en-US"]
    return {
        "unseen_locales": len(unseen),
        "unseen": {m: round(100 * float(np.mean([s[m] for s in unseen])), 1) for m in METRICS},
        "en-US": {m: round(100 * locales["en-US"][m], 1) for m in METRICS},
    }


METRICS = ("exact_match", "intent_acc", "slot_f1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--data", default=str(SHARED) if SHARED.exists() else "massive")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--name", default="ladder")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.models[0], args.data)))
        return
    console = Console()
    rows = []
    for folder in args.models:
        console.print(f"[bold]{folder}[/]: accuracy, then timing in a fresh process")
        scores = accuracy(folder, args.data)
        timed = subprocess.run(
            [sys.executable, __file__, str(folder), "--data", args.data, "--measure"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        config = read_model_config(folder)
        rows.append(
            {
                "model": str(folder),
                "kind": config.kind,
                "quantization": getattr(config.settings, "quantization", None),
                "weight_scales": getattr(config.settings, "weight_scales", None),
                "size_mib": round(model_size_bytes(folder) / 2**20, 1),
                "size_mb": round(model_size_bytes(folder) / 1e6, 1),
                **json.loads(timed.stdout.strip().splitlines()[-1]),
                **scores,
            }
        )
    table = Table(title="Teacher → student → int8 (dev split; latency on this machine)")
    columns = (
        "model", "parameters", "size MiB", "size MB", "peak MiB", "batch 1 median ms",
        "batch 1 p99 ms", "batch 64 utt/s", "51 locales EM / intent / slot",
        "en-US EM / intent / slot",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in rows:
        table.add_row(
            Path(row["model"]).name,
            f"{row['parameters'] / 1e6:.1f}M",
            f"{row['size_mib']:.1f}",
            f"{row['size_mb']:.1f}",
            f"{row['peak_memory_mib']:.0f}",
            f"{row['batch1_median_ms']:.2f}",
            f"{row['batch1_p99_ms']:.2f}",
            f"{row['batch64_utterances_per_s']:.0f}",
            " / ".join(f"{row['unseen'][m]:.1f}" for m in METRICS),
            " / ".join(f"{row['en-US'][m]:.1f}" for m in METRICS),
        )
    console.print(table)
    path = write_result(args.name, {"benchmark": "ladder", "split": "dev", "models": rows})
    console.print(f"Wrote {path}")


if __name__ == "__main__":
    main()
