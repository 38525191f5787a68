"""What every benchmark records beside its figures: the commit, the machine and the command."""

from __future__ import annotations

import json
import os
import platform
import random
import shlex
import subprocess
import sys
import tarfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SHARED_DATA = ROOT.parent / "shared" / "data"
"""The data the benchmarks read by default (see its README)."""


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment() -> dict[str, Any]:
    from polynlu import __version__

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "commit": _git("rev-parse", "HEAD"),
        # Code changes only: results written by an earlier benchmark do not make this one's
        # figures any less reproducible from the commit.
        "dirty": bool(
            _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks/results")
        ),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(["python", *sys.argv]),
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "memory_gib": round(memory, 1),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "polynlu_version": __version__,
    }


# Taken when a benchmark starts, so the result names the code that ran, not whatever the
# checkout holds when it ends.
STARTED = environment()


def gpu_name() -> str | None:
    """The GPU a benchmark used, if it imported PyTorch and CUDA was there (never imports
    PyTorch itself: an exported model's benchmark must not pay for it)."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    name: str = torch.cuda.get_device_name()
    return name


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    machine = {**STARTED["machine"], "gpu": gpu_name()}
    result = {**STARTED, "machine": machine, **payload}
    path.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    return path


def earlier_result(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """What an earlier run wrote to ``name``, for a run that goes on from it: empty if there
    is none; it stops if that run had other ``settings``, whose figures must not be mixed."""
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        return {}
    earlier: dict[str, Any] = json.loads(path.read_text("utf-8"))
    if any(earlier.get(key) != value for key, value in settings.items()):
        raise SystemExit(f"{path} was written with other settings: --name another result")
    return earlier


def dev_sample(dev: Sequence[Any], english: str, per_locale: int | None) -> list[Any]:
    """All of ``english`` dev, and the same ``per_locale`` ids in every other locale (all of
    dev for None): MASSIVE is parallel by id, so every locale answers the same requests."""
    if per_locale is None:
        return list(dev)
    ids = sorted({e.id for e in dev if e.locale == english}, key=int)
    chosen = set(random.Random(1234).sample(ids, min(per_locale, len(ids))))
    return [e for e in dev if e.locale == english or e.id in chosen]


def log_to_console(console: Any) -> None:
    """Show the library's log records (the trainer's epoch lines) on ``console``."""
    import logging

    from rich.logging import RichHandler

    handler = RichHandler(
        console=console, show_time=False, show_level=False, show_path=False, markup=False
    )
    logger = logging.getLogger("polynlu")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def summarize(result: Any, trained_on: list[str], title: str) -> dict[str, dict[str, float]]:
    """Print the per-locale table and the averages (all; not trained on); return the averages."""
    from rich.console import Console
    from rich.table import Table

    from polynlu.evaluation.evaluate import METRICS, mean_scores
    from polynlu.evaluation.report import locale_table

    console = Console()
    console.print(locale_table(result, title=title))
    unseen = [locale for locale in result.locales if locale not in trained_on]
    averages = {"all": result.average}
    if unseen:
        averages["not_trained_on"] = mean_scores([result.locales[loc] for loc in unseen])
    table = Table(title="Averages (%)")
    table.add_column("locales")
    table.add_column("n", justify="right")
    for metric in METRICS:
        table.add_column(metric, justify="right")
    for key, values in averages.items():
        count = len(result.locales) if key == "all" else len(unseen)
        table.add_row(key, str(count), *(f"{100 * values[m]:.1f}" for m in METRICS))
    console.print(table)
    return averages


def unpack(path: Path, work: Path, inner: str) -> Path:
    """``path`` itself when it is a folder, else the tarball unpacked into ``work`` once: the
    path of its top folder ``inner``."""
    if path.is_dir():
        return path
    target = work / inner
    if not target.exists():
        with tarfile.open(path) as archive:
            archive.extractall(work, filter="data")
    return target


def polynlu(*args: str) -> float:
    """Run ``polynlu ARGS`` as a user does, printing the command; the seconds it took."""
    print("$ polynlu " + " ".join(args), flush=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "polynlu", *args], check=True)
    return time.perf_counter() - started


def scored(
    model: Path, folder: Path, *options: str, reuse: bool = False
) -> tuple[dict[str, Any], float | None]:
    """``polynlu evaluate MODEL OPTIONS --output FOLDER``, unless ``reuse`` and FOLDER holds
    its scores already (the model was not trained again): FOLDER's metrics, and the seconds
    scoring took (None when reused)."""
    metrics = folder / "metrics.json"
    took = None
    if reuse and metrics.is_file():
        print(f"Reusing {folder}'s scores: the model was not trained again", flush=True)
    else:
        took = polynlu("evaluate", str(model), *options, "--output", str(folder))
    return json.loads(metrics.read_text("utf-8")), took


def training_record(model: Path) -> dict[str, Any]:
    """When a model folder's training ran and how long it took (its provenance), for a
    reused model too."""
    provenance = json.loads((model / "config.json").read_text("utf-8")).get("provenance", {})
    training = provenance.get("training", {})
    return {
        "created": provenance.get("created"),
        "seconds": training.get("seconds"),
        "train_examples": training.get("train_examples"),
        "best_epoch": training.get("best_epoch"),
    }
