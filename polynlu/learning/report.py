"""The report of one round of learning: Markdown and a PNG.

Defect rates (the share of requests that were rephrased, failed or abandoned, or fell out of
scope) by locale and by the intent the model answered, over time; the top rewrites; and what
was learned. Written beside the new model so that whoever ships it can read why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from polynlu.learning.learner import Learned, TurnRecord

REPORT_FILE = "report.md"
CHART_FILE = "defects.png"


def _period(records: Sequence[TurnRecord]) -> timedelta:
    """Days for a log of more than three days, hours below."""
    if not records:
        return timedelta(days=1)
    span = max(r.time for r in records) - min(r.time for r in records)
    return timedelta(days=1) if span > timedelta(days=3) else timedelta(hours=1)


def _bucket(time: datetime, period: timedelta) -> datetime:
    if period >= timedelta(days=1):
        return time.replace(hour=0, minute=0, second=0, microsecond=0)
    return time.replace(minute=0, second=0, microsecond=0)


def defect_rates(
    records: Sequence[TurnRecord], key: str
) -> dict[str, tuple[int, int]]:  # name → (defective, requests)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for record in records:
        name = str(getattr(record, key) or "unknown")
        counts[name][0] += record.defective
        counts[name][1] += 1
    return {name: (defects, total) for name, (defects, total) in counts.items()}


def write_report(learned: Learned, folder: Path, *, log: str, model: str, top: int = 20) -> Path:
    """``report.md`` and ``defects.png`` in ``folder``; the Markdown's path."""
    folder.mkdir(parents=True, exist_ok=True)
    write_chart(learned.turns, folder / CHART_FILE)
    lines = [
        "# What polynlu learned from use",
        "",
        f"Log `{log}`, model `{model}`.",
        "",
        "| | |",
        "|---|---:|",
        *(f"| {name} | {value:,} |" for name, value in learned.counts.items()),
        "",
        f"![Defect rate by locale over time]({CHART_FILE})",
        "",
        "A request is defective when the user rephrased it, the client reported it failed or "
        "abandoned, or the model answered it out of scope.",
        "",
        "## Defect rate by locale",
        "",
        *_rate_table(defect_rates(learned.turns, "locale"), "locale"),
        "",
        f"## Defect rate by intent (the {top} with most defects)",
        "",
        *_rate_table(defect_rates(learned.turns, "intent"), "intent", top=top),
        "",
        f"## Top rewrites (of {len(learned.rewrites):,}, by support)",
        "",
        "| utterance | rewrite | success probability | support |",
        "|---|---|---:|---:|",
        *(
            f"| {_cell(r.source)} | {_cell(r.target)} | {r.probability:.2f} | {r.support} |"
            for r in sorted(learned.rewrites, key=lambda r: (-r.support, r.source))[:top]
        ),
        "",
        "## Pseudo-labelled training data",
        "",
        f"{len(learned.examples):,} examples: each failing utterance with the interpretation its "
        "rewrite was served with. "
        f"{len(learned.unlabelled):,} rewrite(s) gave none, because a slot value of the rewrite "
        "is not in the utterance's words.",
    ]
    if learned.rewrites_without_text:
        lines += [
            "",
            f"{learned.rewrites_without_text:,} rewrite(s) were found but cannot be applied: the "
            "log kept no text (`--no-log-text`).",
        ]
    path = folder / REPORT_FILE
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def _rate_table(
    rates: dict[str, tuple[int, int]], name: str, *, top: int | None = None
) -> list[str]:
    rows = sorted(rates.items(), key=lambda item: (-item[1][0], item[0]))[:top]
    return [
        f"| {name} | requests | defective | defect rate |",
        "|---|---:|---:|---:|",
        *(
            f"| {_cell(key)} | {total:,} | {defects:,} | {100 * defects / total:.1f}% |"
            for key, (defects, total) in rows
        ),
    ]


def _utc(time: datetime) -> datetime:
    """Naive UTC, as numpy's datetime64 takes it."""
    return time.astimezone(timezone.utc).replace(tzinfo=None) if time.tzinfo else time


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_chart(records: Sequence[TurnRecord], path: Path, *, locales: int = 10) -> None:
    """Defect rate over time, one line per locale (the ``locales`` with most requests)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    period = _period(records)
    totals = defect_rates(records, "locale")
    busiest = sorted(totals, key=lambda name: -totals[name][1])[:locales]
    series: dict[str, dict[datetime, list[int]]] = {
        name: defaultdict(lambda: [0, 0]) for name in busiest
    }
    for record in records:
        name = record.locale or "unknown"
        if name in series:
            cell = series[name][_bucket(record.time, period)]
            cell[0] += record.defective
            cell[1] += 1
    figure, axes = plt.subplots(figsize=(9, 4.5), layout="constrained")
    for name in busiest:
        times = sorted(series[name])
        axes.plot(
            np.array([_utc(t) for t in times], dtype="datetime64[s]"),
            [100 * series[name][t][0] / series[name][t][1] for t in times],
            marker="o",
            markersize=3,
            label=name,
        )
    axes.set_ylabel("defective requests (%)")
    axes.set_title(f"Defect rate by locale, per {'day' if period.days else 'hour'}")
    axes.set_ylim(bottom=0)
    if busiest:
        axes.legend(fontsize="small", ncols=2)
    figure.autofmt_xdate()
    figure.savefig(path, dpi=120)
    plt.close(figure)
