"""Which ``LearnSettings`` to ship: a sweep over the logs ``self_learning.py --keep`` kept.

    python benchmarks/self_learning.py --model MODEL --keep runs/self-learning
    python benchmarks/learn_settings.py --keep runs/self-learning --model MODEL

Each variant of the settings learns from every seed's log (``learner.learn``, as ``polynlu
learn`` runs it), and its rewrites are scored against the simulated users' goals, which the
learner never sees. The served model embeds each seed's distinct utterances once; the sweep
then costs seconds a variant, against minutes for a full ``self_learning.py`` run.

Reported, mean over seeds:
- rewrites, and their precision: the target's answer in the log (its most frequent reading)
  is the source's goal;
- precision weighted by use: each rewrite counted as often as its source was said in the
  log, a stand-in for how often held-out users will meet it;
- fixes and regressions: answers the rewrite would turn from wrong to right, and from right
  to wrong, counted over the source's requests in the log.

A proxy, not the held-out measurement: ``self_learning.py`` gives the figures the docs
report, for the settings chosen here.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from common import write_result
from rich.console import Console
from rich.table import Table
from self_learning import LOCALES, SHARED, Goal, traffic

from polynlu.learning.learner import Learned, LearnSettings, learn
from polynlu.learning.log import read_requests
from polynlu.learning.sessions import RephraseRule, normalise
from polynlu.models.base import load_model

DEFAULT = LearnSettings()
VARIANTS: dict[str, LearnSettings] = {
    "shipped": DEFAULT,
    "target 0.7 (before)": replace(DEFAULT, min_target_success=0.7),
    "target 0.8": replace(DEFAULT, min_target_success=0.8),
    "target 0.95": replace(DEFAULT, min_target_success=0.95),
    "support 3": replace(DEFAULT, min_support=3),
    "source defects 0.6": replace(DEFAULT, min_source_defects=0.6),
    "cluster 0.9": replace(DEFAULT, cluster_similarity=0.9),
    "rephrase cosine 0.6": replace(DEFAULT, rephrase=RephraseRule(min_similarity=0.6)),
    "rephrase cosine 0.4": replace(DEFAULT, rephrase=RephraseRule(min_similarity=0.4)),
}

Key = tuple[str, str]
"""(locale, normalised utterance)."""
Reading = tuple[str, tuple[str, ...], bool]
"""(intent, slot types, out of scope), as a simulated user judges an answer."""


@dataclass
class SeedLog:
    rows: list[dict[str, Any]]
    goals: dict[Key, Goal]
    readings: dict[Key, Counter[Reading]]
    embed: Callable[[Sequence[str], Sequence[str | None]], np.ndarray]


def cached(
    embed: Callable[[Sequence[str], Sequence[str | None]], np.ndarray],
) -> Callable[[Sequence[str], Sequence[str | None]], np.ndarray]:
    """``embed`` computing each (text, locale) once over all variants."""
    vectors: dict[tuple[str, str | None], np.ndarray] = {}

    def embed_once(texts: Sequence[str], locales: Sequence[str | None]) -> np.ndarray:
        keys = list(zip(texts, locales, strict=True))
        missing = [key for key in dict.fromkeys(keys) if key not in vectors]
        if missing:
            new = embed([text for text, _ in missing], [locale for _, locale in missing])
            vectors.update(zip(missing, new, strict=True))
        return np.stack([vectors[key] for key in keys])

    return embed_once


def seed_log(keep: Path, seed: int, data: str, locales: list[str], model: Any) -> SeedLog:
    rows = read_requests(keep / f"seed{seed}" / "traffic.duckdb")
    corpus = traffic(data, locales, 1.0, seed)
    goals = {
        (locale, normalise(text)): goal
        for locale, locale_traffic in corpus.items()
        for text, goal in zip(locale_traffic.texts, locale_traffic.goals, strict=True)
    }
    readings: dict[Key, Counter[Reading]] = defaultdict(Counter)
    for row in rows:
        slot_types = tuple(sorted(slot["slot"] for slot in json.loads(row["slots"])))
        readings[(row["locale"], normalise(row["text"]))][
            (row["intent"], slot_types, row["out_of_scope"])
        ] += 1
    return SeedLog(rows, goals, readings, cached(model.sentence_embeddings))


def served(reading: Reading, goal: Goal) -> bool:
    intent, slot_types, out_of_scope = reading
    return intent == goal.intent and slot_types == goal.slot_types and not out_of_scope


def score(log: SeedLog, learned: Learned, locales: Sequence[str]) -> dict[str, float]:
    right = used = right_used = fixes = regressions = 0
    for rewrite in learned.rewrites:
        source, target = normalise(rewrite.source), normalise(rewrite.target)
        locale = next(
            loc for loc in locales if (loc, source) in log.goals and (loc, target) in log.readings
        )
        goal = log.goals[(locale, source)]
        answered = log.readings[(locale, source)]
        target_right = served(log.readings[(locale, target)].most_common(1)[0][0], goal)
        said = sum(answered.values())
        source_right = sum(n for reading, n in answered.items() if served(reading, goal))
        right += target_right
        used += said
        right_used += said * target_right
        fixes += (said - source_right) if target_right else 0
        regressions += 0 if target_right else source_right
    count = len(learned.rewrites)
    return {
        "rewrites": count,
        "precision": 100 * right / count if count else 0.0,
        "precision_by_use": 100 * right_used / used if used else 0.0,
        "fixes": fixes,
        "regressions": regressions,
    }


def sweep(
    logs: Sequence[SeedLog], variants: Mapping[str, LearnSettings], locales: Sequence[str]
) -> dict[str, dict[str, float]]:
    result = {}
    for name, settings in variants.items():
        per_seed = [score(log, learn(log.rows, log.embed, settings), locales) for log in logs]
        result[name] = {
            metric: round(statistics.fmean(seed[metric] for seed in per_seed), 1)
            for metric in per_seed[0]
        }
    return result


def table(result: Mapping[str, Mapping[str, float]], seeds: int) -> Table:
    out = Table(title=f"Learn settings on the simulator's logs (mean of {seeds} seeds)")
    for column in ("settings", "rewrites", "precision", "by use", "fixes", "regressions"):
        out.add_column(column, justify="left" if column == "settings" else "right")
    for name, row in result.items():
        out.add_row(
            name,
            f"{row['rewrites']:.0f}",
            f"{row['precision']:.1f}",
            f"{row['precision_by_use']:.1f}",
            f"{row['fixes']:.0f}",
            f"{row['regressions']:.0f}",
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, required=True, help="self_learning.py --keep")
    parser.add_argument("--model", type=Path, required=True, help="the model that was served")
    parser.add_argument("--data", default=str(SHARED) if SHARED.exists() else "massive")
    parser.add_argument("--locales", default=LOCALES)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--name", default="learn_settings")
    args = parser.parse_args()
    console = Console()
    locales = args.locales.split(",")
    model = load_model(args.model)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    logs = [seed_log(args.keep, seed, args.data, locales, model) for seed in seeds]
    result = sweep(logs, VARIANTS, locales)
    console.print(table(result, len(seeds)))
    path = write_result(
        args.name,
        {
            "benchmark": "learn_settings",
            "model": str(args.model),
            "logs": str(args.keep),
            "requests_per_seed": [len(log.rows) for log in logs],
            "variants": {name: asdict(settings) for name, settings in VARIANTS.items()},
            "result": result,
        },
    )
    console.print(f"Wrote {path}")


if __name__ == "__main__":
    main()
