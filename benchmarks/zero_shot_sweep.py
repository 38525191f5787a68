"""Which training settings transfer best from en-US to the other 51 locales?

    python benchmarks/zero_shot_sweep.py --device cuda                 # the default grid
    python benchmarks/zero_shot_sweep.py --grid '[{"learning_rate": 1e-4, "epochs": 4}]'

Each setting trains on en-US train and keeps its best epoch by en-US dev, exactly as the
zero-shot benchmark does. After *every* epoch it also scores a fixed probe (``--probe-per-locale``
dev utterances from each of the 52 locales), so one run also shows how transfer moves with
training. The probe is for choosing settings only; the zero-shot benchmark reports the full dev
split. Writes benchmarks/results/zero_shot_sweep.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from common import log_to_console, write_result
from rich.console import Console
from rich.table import Table
from zero_shot import SHARED

from polynlu import NLU
from polynlu.data import MassiveData
from polynlu.data.example import Example
from polynlu.data.massive import cap_per_locale
from polynlu.evaluation.evaluate import METRICS, mean_scores, predict, score_predictions
from polynlu.models.joint import JointModel
from polynlu.options import with_options
from polynlu.training import TrainingData
from polynlu.training.config import TrainConfig
from polynlu.training.trainer import JointTrainer

DEFAULT_GRID: list[dict[str, Any]] = [
    # The three sweeps in benchmarks/results/zero_shot_sweep*.json, in one list.
    {"epochs": 3, "freeze_layers": 0},
    {"epochs": 5, "freeze_layers": 0},
    {"epochs": 5, "freeze_layers": 0, "learning_rate": 5e-5},
    {"epochs": 3, "freeze_layers": 0, "learning_rate": 3e-4},
    {"epochs": 5, "freeze_layers": 4},
    {"epochs": 5, "freeze_layers": 0, "layer_decay": 0.8},
    {"epochs": 5, "freeze_layers": 4, "layer_decay": 0.8},
    {"epochs": 5, "freeze_layers": 6},
    {"epochs": 6, "freeze_layers": 6},
    {"epochs": 5, "freeze_layers": 8},
    {"epochs": 5, "freeze_layers": 8, "learning_rate": 3e-4},
    {"epochs": 7, "freeze_layers": 8},
    {"epochs": 8, "freeze_layers": 10},
]
TRAIN_LOCALE = "en-US"


def probe_scores(model: JointModel, probe: list[Example], batch_size: int) -> dict[str, Any]:
    predictions = predict(NLU(model), probe, batch_size=batch_size, show_progress=False)
    scores = score_predictions(predictions)
    unseen = [s for locale, s in scores.items() if locale != TRAIN_LOCALE]
    return {
        "unseen": mean_scores(unseen),
        TRAIN_LOCALE: mean_scores([scores[TRAIN_LOCALE]]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(SHARED) if SHARED.exists() else "massive")
    parser.add_argument("--grid", default=None, help="JSON list of TrainConfig overrides")
    parser.add_argument("--probe-per-locale", type=int, default=200)
    parser.add_argument("--device", default=None, help=f"default: {TrainConfig.device}")
    parser.add_argument("--name", default="zero_shot_sweep")
    args = parser.parse_args()
    console = Console()
    log_to_console(console)
    grid = json.loads(args.grid) if args.grid else DEFAULT_GRID

    data = MassiveData(args.data)
    train = data.read([TRAIN_LOCALE], "train").examples
    selection = data.read([TRAIN_LOCALE], "dev").examples
    probe = cap_per_locale(data.read(data.locales, "dev").examples, args.probe_per_locale)
    base = with_options(TrainConfig(), device=args.device, eval_batch_size=256)

    runs: list[dict[str, Any]] = []
    for overrides in grid:
        config = replace(base, **overrides)
        console.rule(f"{overrides or 'defaults'}")
        curve: list[dict[str, Any]] = []

        def on_epoch(record: dict[str, Any], model: JointModel, curve: list[Any] = curve) -> None:
            curve.append({"epoch": record["epoch"], **probe_scores(model, probe, 256)})
            unseen = curve[-1]["unseen"]
            console.print(
                "  probe, 51 unseen locales: "
                + " / ".join(f"{100 * unseen[m]:.1f}" for m in METRICS)
            )

        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            model = JointTrainer(config, Path(folder), on_epoch=on_epoch).fit(
                TrainingData(train, selection, source=args.data)
            )
        best = model.training["best_epoch"]
        runs.append(
            {
                "overrides": overrides,
                "config": asdict(config),
                "best_epoch": best,
                "seconds": round(time.perf_counter() - started, 1),
                "selected": curve[best - 1],
                "curve": curve,
            }
        )
        # Written after every setting, so an interrupted sweep keeps what it measured.
        path = write_result(
            args.name,
            {
                "benchmark": "zero_shot_sweep",
                "probe_per_locale": args.probe_per_locale,
                "split": "dev",
                "runs": runs,
            },
        )

    title = f"Zero-shot sweep: probe of {args.probe_per_locale} dev utterances per locale (%)"
    table = Table(title=title)
    table.add_column("settings (else defaults)", no_wrap=True)
    table.add_column("best epoch", justify="right")
    for metric in METRICS:
        table.add_column(f"51 unseen: {metric}", justify="right")
    table.add_column(f"{TRAIN_LOCALE}: exact_match", justify="right")
    for run in runs:
        selected = run["selected"]
        table.add_row(
            " ".join(f"{key}={value}" for key, value in run["overrides"].items()) or "defaults",
            str(run["best_epoch"]),
            *(f"{100 * selected['unseen'][m]:.1f}" for m in METRICS),
            f"{100 * selected[TRAIN_LOCALE]['exact_match']:.1f}",
        )
    console.print(table)
    console.print(f"Wrote {path}")


if __name__ == "__main__":
    main()
