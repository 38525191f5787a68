"""How well ``polynlu project`` labels translations: projected spans against MASSIVE's gold.

    python benchmarks/projection.py                              # en-US dev → 51 locales
    python benchmarks/projection.py --locales de-DE,ja-JP --max-per-locale 300 --layers 4,6,8,10

MASSIVE is parallel by id, so en-US dev's annotations projected onto every other locale's dev
utterances can be scored against those utterances' own gold annotations (read here only to
score; ``project`` never sees them). Reported per locale: slot precision, recall and F1
(a span counts when its type and its characters match gold exactly), the share of
utterances whose projected slots are all right (the slot half of exact match), and the
slots dropped. Several ``--layers`` or ``--methods`` give one row per combination.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from typing import Any, cast

from common import ROOT, write_result
from rich.console import Console
from rich.table import Table

from polynlu.augment.projection import (
    ALIGN_METHODS,
    AlignMethod,
    ProjectSettings,
    WordAligner,
    massive_pairs,
    project,
)
from polynlu.data import MassiveData, parse_locale_list
from polynlu.data.example import Example
from polynlu.models.backbones.registry import load_backbone

SHARED = ROOT.parent / "shared" / "data" / "amazon-massive-dataset-1.1-traindev.tar.gz"


def span_set(example: Example) -> set[tuple[str, int, int]]:
    return {(span.label, span.start, span.end) for span in example.slots}


def scores(projected: list[Example], gold: dict[str, Example]) -> dict[str, float]:
    right = found = expected = whole = 0
    for example in projected:
        truth = span_set(gold[example.id])
        mine = span_set(example)
        right += len(mine & truth)
        found += len(mine)
        expected += len(truth)
        whole += mine == truth
    precision = right / found if found else 0.0
    recall = right / expected if expected else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "utterances": len(projected),
        "slot_precision": round(100 * precision, 1),
        "slot_recall": round(100 * recall, 1),
        "slot_f1": round(100 * f1, 1),
        "all_slots_right": round(100 * whole / len(projected), 1) if projected else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(SHARED) if SHARED.exists() else "massive")
    parser.add_argument("--source-locale", default="en-US")
    parser.add_argument("--locales", default="all", help="target locales")
    parser.add_argument("--max-per-locale", type=int)
    parser.add_argument("--layers", default=str(ProjectSettings.layer))
    parser.add_argument("--methods", default=ProjectSettings.method)
    parser.add_argument("--backbone", default="multilingual-e5-small")
    parser.add_argument("--name", default="projection")
    args = parser.parse_args()
    console = Console()
    data = MassiveData(args.data)
    targets = [
        locale
        for locale in parse_locale_list(args.locales, data.locales)
        if locale != args.source_locale
    ]
    _, pairs = massive_pairs(
        data, args.source_locale, targets, ["dev"], max_per_locale=args.max_per_locale
    )
    gold = {
        locale: {e.id: e for e in data.read([locale], "dev", show_progress=False).examples}
        for locale in targets
    }
    runs: list[dict[str, Any]] = []
    for layer, method in itertools.product(
        [int(n) for n in args.layers.split(",")], args.methods.split(",")
    ):
        if method not in ALIGN_METHODS:
            parser.error(f"--methods: {method!r} is not one of {', '.join(ALIGN_METHODS)}")
        settings = ProjectSettings(layer=layer, method=cast(AlignMethod, method))
        aligner = WordAligner(load_backbone(args.backbone, show_progress=False), settings)
        started = time.perf_counter()
        projection = project(pairs, aligner)
        seconds = time.perf_counter() - started
        by_locale = {
            locale: scores([e for e in projection.examples if e.locale == locale], gold[locale])
            for locale in targets
        }
        average = {
            metric: round(statistics.fmean(row[metric] for row in by_locale.values()), 1)
            for metric in ("slot_precision", "slot_recall", "slot_f1", "all_slots_right")
        }
        runs.append(
            {
                "layer": layer,
                "method": method,
                "seconds": round(seconds, 1),
                "slots": projection.slots,
                "dropped": projection.dropped,
                "average": average,
                "locales": by_locale,
            }
        )
        console.print(
            f"layer {layer}, {method}: slot F1 {average['slot_f1']} (P {average['slot_precision']}"
            f", R {average['slot_recall']}), all slots right {average['all_slots_right']}%; "
            f"{projection.dropped:,} of {projection.slots:,} slots dropped; {seconds:.0f} s"
        )
    best = max(runs, key=lambda run: run["average"]["slot_f1"])
    table = Table(title=f"Projection onto dev, layer {best['layer']}, {best['method']}")
    for column in ("locale", "slot P", "slot R", "slot F1", "all slots right"):
        table.add_column(column, justify="left" if column == "locale" else "right")
    for locale, row in sorted(best["locales"].items(), key=lambda item: -item[1]["slot_f1"]):
        table.add_row(
            locale,
            f"{row['slot_precision']:.1f}",
            f"{row['slot_recall']:.1f}",
            f"{row['slot_f1']:.1f}",
            f"{row['all_slots_right']:.1f}",
        )
    console.print(table)
    path = write_result(
        args.name,
        {
            "benchmark": "projection",
            "backbone": args.backbone,
            "source_locale": args.source_locale,
            "split": "dev",
            "max_per_locale": args.max_per_locale,
            "runs": runs,
        },
    )
    console.print(f"Wrote {path}")


if __name__ == "__main__":
    main()
