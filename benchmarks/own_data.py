"""The Snips 2017 custom-intent benchmark, read from its files as they are, by its protocol.

    python benchmarks/own_data.py                         # the baseline: seconds on 2 cores
    python benchmarks/own_data.py --model joint --skip-full --resume   # hours on 2 cores

For each of the 7 intents, one model per training size: 10, 20, 50 and 70 queries drawn from
``train_<intent>.json`` (3 draws each, seeds 0–2) and the whole ``train_<intent>_full.json``;
each is scored on ``validate_<intent>.json``. Per slot type, precision and recall of exact
spans, F1 per draw (0 where precision or recall is undefined, as in the engines' own files),
averaged over draws, then slots, then intents: the averaging that gives the published figures
of Snips, Alexa, LUIS, Wit.ai and api.ai from their ``<engine>_metrics.json`` (recomputed here
and printed beside). Also the intent accuracy of one model trained on all 7 intents with 70
queries each. Writes benchmarks/results/own_data-<model>.json.

The protocol has no dev data: a joint model selects its epoch on its training queries. The
result is written after each intent and size; ``--resume`` keeps what a run with the same
settings wrote and runs the rest (``--sizes`` adds sizes), so a long run can go on in another
session.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import statistics
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from common import STARTED, earlier_result, write_result
from rich.console import Console
from rich.table import Table

from polynlu import NLU
from polynlu.data.example import Example
from polynlu.data.formats import read_data
from polynlu.options import add_arguments, options_for, with_options
from polynlu.training import TRAINERS, TrainingData
from polynlu.training.config import TrainConfig, recipe_for

SHARED = Path(__file__).resolve().parents[2] / "shared/data/snips-nlu-benchmark-2017.tar.gz"
SIZES = ("10", "20", "50", "70")
DRAWS = 3
ENGINES = ("Snips", "api.ai", "Luis", "Wit", "Alexa")


def unpack(source: Path, scratch: Path) -> Path:
    if source.is_dir():
        return source
    with tarfile.open(source) as archive:
        archive.extractall(scratch, filter="data")
    return next(p.parent for p in scratch.rglob("README.md") if (p.parent / "GetWeather").is_dir())


def span_set(example_or_result: Any, utt: str) -> set[tuple[str, int, int]]:
    spans = getattr(example_or_result, "slots", ())
    found = set()
    for span in spans:
        label = getattr(span, "label", None) or getattr(span, "slot", None)
        value = utt[span.start : span.end]
        # Exact spans, the surrounding white space not counted.
        start = span.start + len(value) - len(value.lstrip())
        end = span.end - len(value) + len(value.rstrip())
        found.add((str(label), start, end))
    return found


def slot_f1(gold: Sequence[Example], predicted: Sequence[Any]) -> dict[str, float]:
    """F1 of exact spans per slot type (0 where precision or recall is undefined)."""
    right: Counter[str] = Counter()
    guessed: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    for example, result in zip(gold, predicted, strict=True):
        gold_spans = span_set(example, example.utt)
        found = span_set(result, example.utt)
        for label, *_ in gold_spans:
            actual[label] += 1
        for label, *_ in found:
            guessed[label] += 1
        for label, *_ in gold_spans & found:
            right[label] += 1
    scores = {}
    for label in actual:
        precision = right[label] / guessed[label] if guessed[label] else math.nan
        scores[label] = _f1(precision, right[label] / actual[label])
    return scores


def train(
    kind: str, config: Any, examples: Sequence[Example], folder: Path, segmentation: str
) -> NLU:
    trainer = TRAINERS.get(kind)(config, folder, show_progress=False)
    data = TrainingData(list(examples), list(examples), segmentation=segmentation)  # type: ignore[arg-type]
    return NLU(trainer.fit(data), detect_language=False)


def engine_figures(root: Path) -> dict[str, dict[str, float]]:
    """The engines' published per-slot precision and recall, averaged as described above.
    ``<engine>_metrics_full.json`` (Snips alone has one) gives the ~2,000-query column."""
    figures: dict[str, dict[str, float]] = {}
    for engine in ENGINES:
        by_size: dict[str, list[float]] = {}
        for suffix, sizes in (("", SIZES), ("_full", None)):
            for path in sorted(root.glob(f"*/{engine}_metrics{suffix}.json")):
                raw = json.loads(path.read_text("utf-8"))
                for slots in (body["slots"] for body in raw["intents"].values()):
                    for size, per_slot in _per_slot_f1(slots, sizes).items():
                        by_size.setdefault(size, []).append(statistics.fmean(per_slot))
        figures[engine] = {size: 100 * statistics.fmean(v) for size, v in by_size.items()}
    return figures


def _per_slot_f1(slots: dict[str, Any], sizes: Sequence[str] | None) -> dict[str, list[float]]:
    """Training size ("full" for the one size of a ``_full`` file) → each slot's F1 averaged
    over its draws."""
    found: dict[str, list[float]] = {}
    for metrics in slots.values():
        for size, precisions in metrics["precision"].items():
            if sizes is not None and size not in sizes:
                continue
            recalls = metrics["recall"][size]
            f1 = statistics.fmean(_f1(p, r) for p, r in zip(precisions, recalls, strict=True))
            found.setdefault(size if sizes is not None else "full", []).append(f1)
    return found


def _f1(precision: float, recall: float) -> float:
    undefined = math.isnan(precision) or math.isnan(recall) or precision + recall == 0
    return 0.0 if undefined else 2 * precision * recall / (precision + recall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--model", default="baseline", help="a registered trainer")
    parser.add_argument("--name", default=None)
    parser.add_argument("--skip-full", action="store_true", help="leave out the ~2,000 sets")
    parser.add_argument(
        "--sizes", default=",".join(SIZES), help="training sizes of the protocol to run"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the figures an earlier run of the same settings wrote (the result is "
        "written after each intent and size), and run the rest",
    )
    known, _ = parser.parse_known_args()
    trainer_type = TRAINERS.get(known.model)
    add_arguments(parser, trainer_type.config_type)
    args = parser.parse_args()
    options = {
        k: v for k, v in options_for(trainer_type.config_type, args).items() if v is not None
    }
    columns = [size for size in args.sizes.split(",") if size in SIZES]
    columns += [] if args.skip_full else ["full"]
    name = args.name or f"own_data-{known.model}"
    settings = {"model": known.model, "options": options}

    def config_for(examples: Sequence[Example]) -> Any:
        """What ``polynlu train`` would use on these examples, with the options given."""
        few = trainer_type.config_type is TrainConfig
        base = recipe_for(examples) if few else trainer_type.config_type()
        return with_options(base, **options)

    earlier = _earlier_run(name, settings) if args.resume else {}
    per_intent: dict[str, dict[str, float]] = earlier.get("per_intent", {})
    configs: dict[str, Any] = earlier.get("config_by_size", {})
    seconds: float = earlier.get("seconds", 0.0)
    console = Console()

    def save(**figures: Any) -> Path:
        return write_result(
            name,
            {
                "benchmark": "own_data (Snips 2017)",
                **settings,
                # Every size of the protocol for every intent, and the 7-intent model.
                "complete": "intent_accuracy_7_intents_70_each" in figures
                and all(set(SIZES) <= set(by_size) for by_size in per_intent.values()),
                "commits": sorted({*earlier.get("commits", []), STARTED["commit"]}),
                "config_by_size": {
                    size: asdict(c) if not isinstance(c, dict) else c for size, c in configs.items()
                },
                "slot_f1": {"per_intent": per_intent, **figures.pop("slot_f1", {})},
                **figures,
                "seconds": round(seconds + time.perf_counter() - started, 1),
            },
        )

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        root = unpack(args.data, Path(scratch) / "data")
        intents = sorted(p.name for p in root.iterdir() if (p / f"train_{p.name}.json").is_file())
        pooled_train: list[Example] = []
        pooled_test: list[Example] = []
        for intent in intents:
            train_set = read_data(root / intent / f"train_{intent}.json")
            test_set = read_data(root / intent / f"validate_{intent}.json").examples
            pooled_test += test_set
            pooled_train += random.Random(0).sample(train_set.examples, 70)  # draw 0 of 70
            for size in columns:
                if size in per_intent.setdefault(intent, {}):
                    console.print(f"{intent} {size}: kept from the earlier run")
                    continue
                draws = (
                    [read_data(root / intent / f"train_{intent}_full.json").examples]
                    if size == "full"
                    else [random.Random(seed).sample(train_set.examples, int(size))
                          for seed in range(DRAWS)]
                )  # fmt: skip
                draw_scores = []
                for number, examples in enumerate(draws):
                    config = configs[size] = config_for(examples)
                    folder = Path(scratch) / f"{intent}-{size}-{number}"
                    nlu = train(known.model, config, examples, folder, train_set.segmentation)
                    predicted = nlu.parse_batch(
                        [e.utt for e in test_set], [e.locale for e in test_set]
                    )
                    draw_scores.append(slot_f1(test_set, predicted))
                    # A joint model and its checkpoint take ~500 MB: 84 of them filled a disk.
                    shutil.rmtree(folder)
                slots = sorted(draw_scores[0])
                per_intent[intent][size] = 100 * statistics.fmean(
                    statistics.fmean(scores[slot] for scores in draw_scores) for slot in slots
                )
                console.print(f"{intent} {size}: slot F1 {per_intent[intent][size]:.1f}")
                save()
        configs["all 7 intents"] = config_for(pooled_train)
        nlu = train(
            known.model,
            configs["all 7 intents"],
            pooled_train,
            Path(scratch) / "all",
            "punctuation",
        )
        predicted = nlu.parse_batch([e.utt for e in pooled_test], [e.locale for e in pooled_test])
        intent_accuracy = 100 * statistics.fmean(
            result.intent == example.intent
            for example, result in zip(pooled_test, predicted, strict=True)
        )
        engines = engine_figures(root)
    columns = [size for size in [*SIZES, "full"] if all(size in per_intent[i] for i in intents)]
    averages = {size: statistics.fmean(per_intent[i][size] for i in intents) for size in columns}
    table = Table(title="Snips 2017: slot F1 (exact spans), averaged over slots then intents")
    table.add_column("system")
    for size in columns:
        table.add_column(f"{size} queries" if size != "full" else "~2,000", justify="right")
    table.add_row(f"polynlu {known.model}", *(f"{averages[s]:.1f}" for s in columns))
    for engine, figures in engines.items():
        table.add_row(engine, *(f"{figures[s]:.1f}" if s in figures else "–" for s in columns))
    console.print(table)
    console.print(
        f"Intent accuracy, one model on all {len(intents)} intents (70 queries each), "
        f"{len(pooled_test)} validation queries: {intent_accuracy:.1f}%"
    )
    path = save(
        slot_f1={"average": averages},
        intent_accuracy_7_intents_70_each=intent_accuracy,
        engines_published=engines,
    )
    console.print(f"Wrote {path}")


def _earlier_run(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """What an earlier run with the same settings kept, or nothing."""
    earlier = earlier_result(name, settings)
    if not earlier:
        return {}
    earlier["per_intent"] = earlier["slot_f1"]["per_intent"]
    earlier["commits"] = earlier.get("commits") or [earlier["commit"]]
    return earlier


if __name__ == "__main__":
    main()
