"""How long ``polynlu learn`` takes over a large log: one million requests by default.

    python benchmarks/learn_scale.py --model MODEL                 # 1,000,000 requests
    python benchmarks/learn_scale.py --model MODEL --requests 100000

MODEL is the model the service serves, whose encoder ``learn`` embeds with: the README's
recipe serves the int8 ONNX export (``polynlu export --quantize int8``), which embeds about
twice as fast on CPU as the float32 PyTorch model it came from.

The log is written through ``InteractionLog``, as ``polynlu serve --log`` writes it, but
without a model in the loop (parsing a million requests would take hours here): sessions of
the self-learning simulator's users (``self_learning.traffic``: MASSIVE dev utterances of
every locale, Zipf popularity, rephrases within a goal), each answered with its gold reading,
or, with probability ``--error-rate``, another intent at low confidence, after which most
users rephrase. What ``learn`` does with the log is the same work as with served traffic:
every distinct utterance is embedded once, so the time grows with the distinct utterances
(reported) more than with the requests.
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from common import write_result
from rich.console import Console
from rich.progress import Progress
from self_learning import SHARED, Traffic, traffic

from polynlu.data.locales import massive_locales
from polynlu.learning.log import InteractionLog, LoggedRequest
from polynlu.learning.sessions import normalise
from polynlu.models.base import read_model_config

START = datetime(2026, 10, 1, tzinfo=timezone.utc)


def write_log(path: Path, args: argparse.Namespace, console: Console) -> tuple[int, int]:
    """The log of ``args.requests`` requests; (requests, distinct utterances)."""
    locales = args.locales.split(",") if args.locales != "all" else sorted(massive_locales())
    corpus = traffic(args.data, locales, args.zipf, 0)
    # Cumulative weights: a draw is a bisection, not a pass over a locale's utterances.
    cumulative = {loc: list(itertools.accumulate(t.weights)) for loc, t in corpus.items()}
    draw = random.Random(0)
    log = InteractionLog(path, max_queue=args.requests + 1)
    written, session = 0, 0
    distinct: set[str] = set()
    with Progress(console=console) as progress:
        task = progress.add_task("Writing the log", total=args.requests)
        while written < args.requests:
            before = written
            session += 1
            written = _session(
                log,
                corpus[draw.choice(locales)],
                cumulative,
                draw,
                args,
                written,
                session,
                distinct,
            )
            progress.advance(task, written - before)
    log.close()
    return written, len(distinct)


def _session(
    log: InteractionLog,
    locale_traffic: Traffic,
    cumulative: dict[str, list[float]],
    draw: random.Random,
    args: argparse.Namespace,
    written: int,
    session: int,
    distinct: set[str],
) -> int:
    """One user's session into ``log``; the requests written so far."""
    everyone = range(len(locale_traffic.texts))
    current = draw.choices(everyone, cum_weights=cumulative[locale_traffic.locale])[0]
    goal = locale_traffic.goals[current]
    when = START + timedelta(seconds=draw.uniform(0, 30 * 24 * 3600))
    for attempt in range(3):
        wrong = draw.random() < args.error_rate
        text = locale_traffic.texts[current]
        distinct.add(normalise(text))
        log.record(
            LoggedRequest(
                request_id=f"r{written}",
                time=when + timedelta(seconds=8 * attempt),
                text=text,
                locale=locale_traffic.locale,
                intent=locale_traffic.goals[draw.choice(everyone)].intent if wrong else goal.intent,
                confidence=draw.uniform(0.1, 0.5) if wrong else draw.uniform(0.6, 1.0),
                out_of_scope=False,
                slots=[] if wrong else [{"slot": s, "value": "x"} for s in goal.slot_types],
                latency_ms=5.0,
                model_version="scale",
                session_id=f"s{session}",
            )
        )
        written += 1
        others = [n for n in locale_traffic.by_goal[goal] if n != current]
        if not wrong or not others or draw.random() < 0.2 or written >= args.requests:
            break
        current = draw.choices(others, [locale_traffic.weights[n] for n in others])[0]
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="the model learn embeds with")
    parser.add_argument("--data", default=str(SHARED) if SHARED.exists() else "massive")
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--locales", default="all")
    parser.add_argument("--zipf", type=float, default=1.0)
    parser.add_argument("--error-rate", type=float, default=0.2)
    parser.add_argument("--name", default="learn_scale")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="learn-scale-") as scratch:
        log = Path(scratch) / "traffic.duckdb"
        started = time.perf_counter()
        requests, distinct = write_log(log, args, console)
        console.print(
            f"Wrote {requests:,} requests ({distinct:,} distinct utterances) in "
            f"{time.perf_counter() - started:.0f} s; {log.stat().st_size / 2**20:.0f} MiB"
        )
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "polynlu", "learn", "--log", str(log), "--model",
             str(args.model), "--output", str(Path(scratch) / "learned"), "--no-progress"],
            check=True,
        )  # fmt: skip
        seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    console.print(
        f"polynlu learn over {requests:,} requests: {seconds:.0f} s, "
        f"peak memory {peak_mib:,.0f} MiB"
    )
    path = write_result(
        args.name,
        {
            "benchmark": "learn_scale",
            "model": str(args.model),
            "model_kind": read_model_config(args.model).description,
            "requests": requests,
            "distinct_utterances": distinct,
            "learn_seconds": round(seconds, 1),
            "peak_memory_mib": round(peak_mib),
            "settings": {k: str(v) for k, v in vars(args).items() if k != "name"},
        },
    )
    console.print(f"Wrote {path}")


if __name__ == "__main__":
    main()
