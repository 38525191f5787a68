"""The baseline yardstick: train on some locales, score the dev split of every locale.

    python benchmarks/baseline.py --train-locales en-US                  # zero-shot
    python benchmarks/baseline.py --train-locales all --max-per-locale 2000

Prints the per-locale table and averages (all locales, and the locales not trained on), and
writes benchmarks/results/baseline-<name>.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import summarize, write_result
from rich.console import Console

from polynlu import NLU
from polynlu.data import MassiveData, parse_locale_list
from polynlu.data.massive import cap_per_locale
from polynlu.evaluation.evaluate import evaluate
from polynlu.training.baseline import BaselineTrainer
from polynlu.training.config import BaselineConfig

SHARED = (
    Path(__file__).resolve().parents[2] / "shared/data/amazon-massive-dataset-1.1-traindev.tar.gz"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_data = str(SHARED) if SHARED.exists() else "massive"
    parser.add_argument("--data", default=default_data)
    parser.add_argument("--train-locales", default="en-US")
    parser.add_argument("--eval-locales", default="all")
    parser.add_argument("--max-per-locale", type=int, default=None)
    parser.add_argument("--name", default=None, help="result file name (default from locales)")
    args = parser.parse_args()
    console = Console()

    data = MassiveData(args.data)
    train_locales = parse_locale_list(args.train_locales, data.locales)
    eval_locales = parse_locale_list(args.eval_locales, data.locales)
    train = data.read(train_locales, "train").examples
    train = cap_per_locale(train, args.max_per_locale)
    started = time.perf_counter()
    model = BaselineTrainer(BaselineConfig(), Path("unused")).fit_examples(train)
    train_seconds = time.perf_counter() - started

    dev = data.read(eval_locales, "dev").examples
    started = time.perf_counter()
    result = evaluate(NLU(model), dev, meta={"model_name": "baseline", "split": "dev"})
    eval_seconds = time.perf_counter() - started
    averages = summarize(result, train_locales, "Baseline, dev split (%)")
    console.print(
        f"train: {len(train):,} utterances in {train_seconds:.1f} s; "
        f"dev: {len(dev):,} utterances parsed and scored in {eval_seconds:.1f} s "
        f"({len(dev) / eval_seconds:,.0f} utt/s)"
    )
    name = args.name or "baseline-" + (
        "all" if args.train_locales == "all" else "_".join(train_locales)
    )
    if args.max_per_locale:
        name += f"-cap{args.max_per_locale}"
    path = write_result(
        name,
        {
            "benchmark": "baseline",
            "train_locales": train_locales,
            "train_utterances": len(train),
            "max_per_locale": args.max_per_locale,
            "train_seconds": round(train_seconds, 1),
            "eval_seconds": round(eval_seconds, 1),
            "split": "dev",
            "averages": averages,
            "locales": {loc: s.as_dict() for loc, s in result.locales.items()},
        },
    )
    console.print(f"Wrote {path}")


if __name__ == "__main__":
    main()
