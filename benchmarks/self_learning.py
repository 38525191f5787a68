"""Self-learning from rephrases, measured with simulated users over real HTTP.

    python benchmarks/self_learning.py                     # 10 locales × 3 seeds
    python benchmarks/self_learning.py --locales en-US,de-DE --seeds 0 --learn-sessions 200

The users. Each session has a goal taken from MASSIVE dev: an intent with its slot types. The
user says one of the utterances of that locale's dev set that express the goal, chosen by
Zipf-like popularity (utterance ranks shuffled per seed and locale; weight 1/rank^``zipf``),
so some utterances recur often and most rarely, as in real traffic. When the answer is not
the goal (another intent, or other slot types), the user rephrases with another utterance of
the same goal, again by popularity, and gives up after ``tries`` attempts. Some users never
rephrase (``--never-rephrase``: they leave at the first wrong answer), some rephrase a
correct answer anyway (``--noise``), and some clients report a give-up as ``abandoned``
feedback (``--feedback``). Turns of a session are sent a few seconds apart in client time.

The protocol, per seed:
1. ``polynlu serve MODEL --log`` answers the learning sessions over HTTP;
2. ``polynlu learn`` reads that log (only the log: never the goals) and writes a new model;
3. the held-out sessions (other users, drawn from the same traffic) go to ``polynlu serve
   MODEL`` and then to ``polynlu serve NEW_MODEL``, each user making the same choices
   wherever the answers allow.

Reported per locale, averaged over seeds: the defect rate of held-out sessions (the first
answer was not the user's goal) before and after, split by whether the first utterance
occurred in the learning sessions; sessions that ended without the goal served; and the
precision of the rewrites applied (the rewrite's answer is the user's goal).

Without ``--model`` the served model is trained here (``train_model``): 1,000 MASSIVE train
utterances of each simulated locale, 3 epochs. A few-shot en-US model (10 examples an
intent) was tried first: it got 81% (en-US) to 91% (de-DE) of first requests wrong, so most
rephrases were wrong too and users gave up unseen; there was little to learn from.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from common import ROOT, write_result
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from polynlu.data.massive import MassiveData
from polynlu.learning.learner import LearnSettings
from polynlu.learning.sessions import normalise
from polynlu.serving.server import serve_in_background

SHARED = ROOT.parent / "shared" / "data" / "amazon-massive-dataset-1.1-traindev.tar.gz"
LOCALES = "en-US,de-DE,es-ES,fr-FR,hi-IN,ja-JP,ru-RU,sw-KE,tr-TR,zh-CN"
START = datetime(2026, 11, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Goal:
    intent: str
    slot_types: tuple[str, ...]


@dataclass
class Traffic:
    """One locale's utterances, their goals and their popularity."""

    locale: str
    texts: list[str]
    goals: list[Goal]
    weights: list[float]
    by_goal: dict[Goal, list[int]]


@dataclass(frozen=True)
class User:
    session_id: str
    locale: str
    first: int
    """Index of the first utterance in the locale's ``Traffic``."""
    rephrases: bool
    noisy: bool
    reports_give_up: bool
    seed: int
    start: datetime


@dataclass
class Turn:
    text: str
    correct: bool
    rewritten: bool


@dataclass
class Outcome:
    user: User
    turns: list[Turn] = field(default_factory=list)

    @property
    def served(self) -> bool:
        return any(turn.correct for turn in self.turns)


def traffic(data: str, locales: Sequence[str], zipf: float, seed: int) -> dict[str, Traffic]:
    examples = MassiveData(data).read(list(locales), "dev").examples  # one pass over the file
    result: dict[str, Traffic] = {}
    for locale in locales:
        seen: set[str] = set()
        texts, goals = [], []
        for example in (e for e in examples if e.locale == locale):
            key = normalise(example.utt)
            if key in seen:
                continue
            seen.add(key)
            texts.append(example.utt)
            goals.append(Goal(example.intent, tuple(sorted(s.label for s in example.slots))))
        ranks = list(range(1, len(texts) + 1))
        random.Random(f"{seed}-{locale}-popularity").shuffle(ranks)
        by_goal: dict[Goal, list[int]] = defaultdict(list)
        for n, goal in enumerate(goals):
            by_goal[goal].append(n)
        result[locale] = Traffic(locale, texts, goals, [r**-zipf for r in ranks], dict(by_goal))
    return result


def users(
    corpus: dict[str, Traffic], phase: str, per_locale: int, seed: int, args: argparse.Namespace
) -> list[User]:
    chosen = []
    for locale, locale_traffic in corpus.items():
        draw = random.Random(f"{seed}-{locale}-{phase}")
        firsts = draw.choices(
            range(len(locale_traffic.texts)), locale_traffic.weights, k=per_locale
        )
        for n, first in enumerate(firsts):
            chosen.append(
                User(
                    session_id=f"{phase}-{seed}-{locale}-{n}",
                    locale=locale,
                    first=first,
                    rephrases=draw.random() >= args.never_rephrase,
                    noisy=draw.random() < args.noise,
                    reports_give_up=draw.random() < args.feedback,
                    seed=draw.randrange(2**31),
                    start=START + timedelta(seconds=draw.uniform(0, 7 * 24 * 3600)),
                )
            )
    random.Random(f"{seed}-{phase}-order").shuffle(chosen)
    return chosen


def matches(answer: dict[str, Any], goal: Goal) -> bool:
    """Whether the user was served: the goal's intent and slot types, and an answer the
    model stood by (out of scope, an assistant says it did not understand)."""
    slots = tuple(sorted(slot["slot"] for slot in answer["slots"]))
    return bool(
        answer["intent"] == goal.intent and slots == goal.slot_types and not answer["out_of_scope"]
    )


def converse(
    client: httpx.Client, user: User, corpus: dict[str, Traffic], tries: int, feedback: bool
) -> Outcome:
    """One session: the user speaks until served, gives up, or has tried ``tries`` times.
    With ``feedback`` (a logging server), the client reports a give-up as it is told to."""
    locale_traffic = corpus[user.locale]
    goal = locale_traffic.goals[user.first]
    choices = random.Random(user.seed)
    outcome = Outcome(user)
    said = {user.first}
    current = user.first
    noise_used = False
    for attempt in range(tries):
        answer = client.post(
            "/v1/parse",
            json={
                "text": locale_traffic.texts[current],
                "locale": user.locale,
                "session_id": user.session_id,
                "timestamp": (user.start + timedelta(seconds=8 * attempt)).isoformat(),
            },
        )
        answer.raise_for_status()
        body = answer.json()
        correct = matches(body, goal)
        outcome.turns.append(
            Turn(locale_traffic.texts[current], correct, body["rewritten_from"] is not None)
        )
        others = [n for n in locale_traffic.by_goal[goal] if n not in said]
        wants_more = not correct or (user.noisy and not noise_used)
        if correct and user.noisy:
            noise_used = True
        if not wants_more or not user.rephrases or not others:
            break
        current = choices.choices(others, [locale_traffic.weights[n] for n in others])[0]
        said.add(current)
    if feedback and not outcome.served and user.reports_give_up:
        client.post(
            "/v1/feedback", json={"request_id": body["request_id"], "outcome": "abandoned"}
        ).raise_for_status()
    return outcome


def run_sessions(
    url: str,
    chosen: list[User],
    corpus: dict[str, Traffic],
    tries: int,
    title: str,
    *,
    feedback: bool = False,
) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(chosen)
    lock = threading.Lock()
    with (
        httpx.Client(base_url=url, timeout=60) as client,
        Progress() as progress,
        ThreadPoolExecutor(16) as pool,
    ):
        task = progress.add_task(title, total=len(chosen))

        def one(n: int) -> None:
            outcomes[n] = converse(client, chosen[n], corpus, tries, feedback)
            with lock:
                progress.advance(task)

        list(pool.map(one, range(len(chosen))))
    return [outcome for outcome in outcomes if outcome is not None]


def learn(log: Path, model: Path, output: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "polynlu", "learn", "--log", str(log), "--model", str(model),
         "--output", str(output), "--no-progress"],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - started


def scores(before: list[Outcome], after: list[Outcome], seen: set[str]) -> dict[str, Any]:
    """Per locale: defect rates before and after, by whether the first utterance was seen."""
    result: dict[str, Any] = {}
    for locale in sorted({o.user.locale for o in before}):
        pairs = [(b, a) for b, a in zip(before, after, strict=True) if b.user.locale == locale]
        row: dict[str, Any] = {"sessions": len(pairs)}
        for name, subset in (
            ("all", pairs),
            ("seen", [p for p in pairs if normalise(p[0].turns[0].text) in seen]),
            ("unseen", [p for p in pairs if normalise(p[0].turns[0].text) not in seen]),
        ):
            if subset:
                row[name] = {
                    "sessions": len(subset),
                    "defect_before": sum(not b.turns[0].correct for b, _ in subset) / len(subset),
                    "defect_after": sum(not a.turns[0].correct for _, a in subset) / len(subset),
                    "unserved_before": sum(not b.served for b, _ in subset) / len(subset),
                    "unserved_after": sum(not a.served for _, a in subset) / len(subset),
                }
        applied = [turn for _, a in pairs for turn in a.turns if turn.rewritten]
        row["rewrites_applied"] = len(applied)
        row["rewrites_correct"] = sum(turn.correct for turn in applied)
        result[locale] = row
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(SHARED) if SHARED.exists() else "massive")
    parser.add_argument("--model", type=Path, help="a model folder to serve (default: train one)")
    parser.add_argument("--locales", default=LOCALES)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--learn-sessions", type=int, default=1500, help="per locale")
    parser.add_argument("--heldout-sessions", type=int, default=500, help="per locale")
    parser.add_argument("--zipf", type=float, default=1.0)
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--never-rephrase", type=float, default=0.2)
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--feedback", type=float, default=0.3)
    parser.add_argument("--keep", type=Path, help="keep the logs and learned models here")
    parser.add_argument("--name", default="self_learning")
    parser.add_argument(
        "--from-result", type=Path, help="only print the tables and plot of a result written"
    )
    args = parser.parse_args()
    console = Console()
    if args.from_result:
        result = json.loads(args.from_result.read_text())
        for run in result["runs"]:
            console.print(seed_table(run))
        console.print(summary_table(result["summary"], len(result["runs"])))
        plot(result["summary"], len(result["runs"]), args.from_result.with_suffix(".png"))
        return
    locales = args.locales.split(",")
    scratch = Path(tempfile.mkdtemp(prefix="self-learning-"))
    work = args.keep or scratch
    work.mkdir(parents=True, exist_ok=True)
    model = args.model or train_model(args.data, args.locales, work / "served-model")
    runs = []
    try:
        for seed in [int(s) for s in args.seeds.split(",")]:
            corpus = traffic(args.data, locales, args.zipf, seed)
            log = work / f"seed{seed}" / "traffic.duckdb"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.unlink(missing_ok=True)
            learned = work / f"seed{seed}" / "learned"
            shutil.rmtree(learned, ignore_errors=True)
            learning = users(corpus, "learn", args.learn_sessions, seed, args)
            with serve_in_background(model, "--log", str(log), "--log-level", "warning") as url:
                started = time.perf_counter()
                learning_outcomes = run_sessions(
                    url,
                    learning,
                    corpus,
                    args.tries,
                    f"seed {seed}: learning sessions",
                    feedback=True,
                )
                serve_seconds = time.perf_counter() - started
            learn_seconds = learn(log, model, learned)
            held_out = users(corpus, "heldout", args.heldout_sessions, seed, args)
            with serve_in_background(model, "--log-level", "warning") as url:
                before = run_sessions(url, held_out, corpus, args.tries, "held out, before")
            with serve_in_background(learned, "--log-level", "warning") as url:
                after = run_sessions(url, held_out, corpus, args.tries, "held out, after")
            seen = {normalise(t.text) for o in learning_outcomes for t in o.turns}
            requests = sum(len(o.turns) for o in learning_outcomes)
            runs.append(
                {
                    "seed": seed,
                    "learning_requests": requests,
                    "learning_requests_per_s": round(requests / serve_seconds, 1),
                    "learn_seconds": round(learn_seconds, 1),
                    "rewrites": _rewrite_count(learned),
                    "locales": scores(before, after, seen),
                }
            )
            console.print(seed_table(runs[-1]))
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    summary = summarize(runs)
    console.print(summary_table(summary, len(runs)))
    path = write_result(
        args.name,
        {
            "benchmark": "self_learning",
            "model": str(args.model)
            if args.model
            else "trained here: 1,000 utterances a locale, 3 epochs, seed 0",
            "settings": {
                k: str(v) if isinstance(v, Path) else v
                for k, v in vars(args).items()
                if k not in ("keep", "name")
            },
            "learn_settings": asdict(LearnSettings()),
            "runs": runs,
            "summary": summary,
        },
    )
    plot(summary, len(runs), path.with_suffix(".png"))
    console.print(f"Wrote {path} and its plot")


def train_model(data: str, locales: str, output: Path) -> Path:
    """The served model: 1,000 train utterances of each simulated locale, 3 epochs, seed 0
    (about 9 minutes on 2 cores); a model that gets about half of the first requests
    right, so there is something to learn."""
    if not (output / "config.json").is_file():
        subprocess.run(
            [sys.executable, "-m", "polynlu", "train", "--data", data, "--train-locales",
             locales, "--max-per-locale", "1000", "--dev-max-per-locale", "100", "--epochs",
             "3", "--seed", "0", "--output", str(output)],
            check=True,
        )  # fmt: skip
    return output


def _rewrite_count(folder: Path) -> int:
    from polynlu.learning.rewrites import RewriteTable

    return len(RewriteTable.load(folder))


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    locales = sorted({loc for run in runs for loc in run["locales"]})
    summary: dict[str, Any] = {}
    for locale in locales:
        rows = [run["locales"][locale] for run in runs if locale in run["locales"]]
        entry: dict[str, Any] = {}
        for part in ("all", "seen", "unseen"):
            parts = [row[part] for row in rows if part in row]
            if parts:
                entry[part] = {
                    key: round(statistics.mean(p[key] for p in parts), 4)
                    for key in parts[0]
                    if key != "sessions"
                } | {"sessions": sum(p["sessions"] for p in parts)}
        before, after = entry["all"]["defect_before"], entry["all"]["defect_after"]
        entry["relative_reduction"] = round((before - after) / before, 4) if before else 0.0
        applied = sum(row["rewrites_applied"] for row in rows)
        entry["rewrites_applied"] = applied
        entry["rewrite_precision"] = (
            round(sum(row["rewrites_correct"] for row in rows) / applied, 4) if applied else None
        )
        summary[locale] = entry
    applied = sum(e["rewrites_applied"] for e in summary.values())
    correct = sum(row["rewrites_correct"] for run in runs for row in run["locales"].values())
    summary["overall"] = {
        "rewrite_precision": round(correct / applied, 4) if applied else None,
        "min_relative_reduction": min(e["relative_reduction"] for e in summary.values()),
        "locales_worse": [
            loc
            for loc, e in summary.items()
            if e["all"]["defect_after"] > e["all"]["defect_before"]
        ],
    }
    return summary


def plot(summary: dict[str, Any], seeds: int, path: Path) -> None:
    """Defect rate of held-out sessions before and after learning, per locale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    locales = [locale for locale in summary if locale != "overall"]
    before = [100 * summary[loc]["all"]["defect_before"] for loc in locales]
    after = [100 * summary[loc]["all"]["defect_after"] for loc in locales]
    figure, axes = plt.subplots(figsize=(9, 4), layout="constrained")
    positions = range(len(locales))
    axes.bar([p - 0.2 for p in positions], before, 0.4, label="before learning")
    axes.bar([p + 0.2 for p in positions], after, 0.4, label="after one round")
    axes.set_xticks(list(positions), locales)
    axes.set_ylabel("first answer wrong (%)")
    axes.set_title(f"Held-out simulated sessions, mean of {seeds} seeds")
    axes.legend()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def seed_table(run: dict[str, Any]) -> Table:
    table = Table(
        title=f"Seed {run['seed']}: {run['learning_requests']:,} learning requests "
        f"({run['learning_requests_per_s']} req/s), learn {run['learn_seconds']} s, "
        f"{run['rewrites']:,} rewrites"
    )
    for column in ("locale", "defects before %", "after %", "rewrites applied", "correct"):
        table.add_column(column, justify="left" if column == "locale" else "right")
    for locale, row in run["locales"].items():
        table.add_row(
            locale,
            _pct(row["all"]["defect_before"]),
            _pct(row["all"]["defect_after"]),
            str(row["rewrites_applied"]),
            str(row["rewrites_correct"]),
        )
    return table


def summary_table(summary: dict[str, Any], seeds: int) -> Table:
    table = Table(title=f"Held-out sessions, mean of {seeds} seed(s): first answer wrong (%)")
    columns = (
        "locale", "before", "after", "relative", "seen: before", "after", "unseen: before",
        "after", "unserved before", "after", "rewrite precision",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "locale" else "right")
    for locale, entry in summary.items():
        if locale == "overall":
            continue
        seen, unseen = entry.get("seen", {}), entry.get("unseen", {})
        table.add_row(
            locale,
            _pct(entry["all"]["defect_before"]),
            _pct(entry["all"]["defect_after"]),
            f"−{_pct(entry['relative_reduction'])}%",
            *(
                _pct(part[key]) if part else "–"
                for part in (seen, unseen)
                for key in ("defect_before", "defect_after")
            ),
            _pct(entry["all"]["unserved_before"]),
            _pct(entry["all"]["unserved_after"]),
            _pct(entry["rewrite_precision"]) if entry["rewrite_precision"] is not None else "–",
        )
    return table


if __name__ == "__main__":
    main()
