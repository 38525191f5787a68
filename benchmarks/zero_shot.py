"""Zero-shot cross-lingual transfer: train the joint model on en-US, score all 52 locales.

    python benchmarks/zero_shot.py                       # the bundled multilingual-e5-small
    python benchmarks/zero_shot.py --epochs 3 --output runs/zero-shot

Model selection uses en-US dev only. Prints the per-locale table and the averages over the 51
non-English locales, and writes benchmarks/results/zero_shot-<backbone>.json.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path

from common import log_to_console, summarize, write_result
from rich.console import Console

from polynlu import NLU
from polynlu.data import MassiveData, parse_locale_list
from polynlu.data.massive import cap_per_locale
from polynlu.evaluation.evaluate import evaluate
from polynlu.evaluation.report import write_report
from polynlu.options import add_arguments, options_for, with_options
from polynlu.training import TrainingData
from polynlu.training.config import TrainConfig
from polynlu.training.trainer import JointTrainer

SHARED = (
    Path(__file__).resolve().parents[2] / "shared/data/amazon-massive-dataset-1.1-traindev.tar.gz"
)


def main(benchmark: str = "zero_shot", **defaults: object) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(SHARED) if SHARED.exists() else "massive")
    parser.add_argument("--train-locales", default="en-US")
    parser.add_argument("--max-per-locale", type=int, default=None, help="cap train per locale")
    parser.add_argument(
        "--dev-max-per-locale", type=int, default=None, help="cap selection dev per locale"
    )
    add_arguments(parser, TrainConfig)  # --epochs, --learning-rate, … (TrainConfig's defaults)
    parser.add_argument("--output", type=Path, default=Path("runs/zero-shot"))
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--name", default=None)
    parser.set_defaults(**defaults)
    args = parser.parse_args()
    console = Console()
    log_to_console(console)

    data = MassiveData(args.data)
    train_locales = parse_locale_list(args.train_locales, data.locales)
    train = cap_per_locale(data.read(train_locales, "train").examples, args.max_per_locale)
    selection_dev = cap_per_locale(
        data.read(train_locales, "dev").examples, args.dev_max_per_locale
    )
    config = with_options(TrainConfig(), **options_for(TrainConfig, args))
    started = time.perf_counter()
    model = JointTrainer(config, args.output).fit(
        TrainingData(train, selection_dev, source=args.data), resume=args.resume
    )
    train_seconds = time.perf_counter() - started

    dev = data.read(data.locales, "dev").examples
    started = time.perf_counter()
    result = evaluate(NLU(model), dev, meta={"model_name": "zero-shot", "split": "dev"})
    eval_seconds = time.perf_counter() - started
    write_report(result, args.output / "eval")
    averages = summarize(result, train_locales, f"Joint model ({config.backbone}), dev split (%)")
    console.print(
        f"train: {len(train):,} utterances, {train_seconds / 60:.1f} min (incl. dev selection); "
        f"scoring {len(dev):,} dev utterances: {eval_seconds / 60:.1f} min"
    )
    name = args.name or f"{benchmark}-{Path(config.backbone).name}"
    path = write_result(
        name,
        {
            "benchmark": benchmark,
            "train_locales": train_locales,
            "max_per_locale": args.max_per_locale,
            "dev_max_per_locale": args.dev_max_per_locale,
            "train_utterances": len(train),
            "config": asdict(config),
            "train_seconds": round(train_seconds, 1),
            "eval_seconds": round(eval_seconds, 1),
            "history": model.training.get("history"),
            "best_epoch": model.training.get("best_epoch"),
            "split": "dev",
            "averages": averages,
            "locales": {loc: s.as_dict() for loc, s in result.locales.items()},
        },
    )
    console.print(f"Wrote {path}; the model is in {args.output}")


if __name__ == "__main__":
    main()
