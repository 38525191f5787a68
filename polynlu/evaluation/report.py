"""Evaluation reports: metrics.json, predictions.jsonl, report.md, a chart and a terminal table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from polynlu.data.locales import group_of, locale_info
from polynlu.evaluation.evaluate import METRICS, EvaluationResult, mean_scores

METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.jsonl"
REPORT_FILE = "report.md"
CHART_FILE = "exact_match_by_locale.png"
_TITLES = {"exact_match": "Exact match", "intent_acc": "Intent acc.", "slot_f1": "Slot F1"}


def _percent(value: float) -> str:
    return f"{100 * value:.1f}"


def write_report(result: EvaluationResult, folder: Path) -> dict[str, Path]:
    """Write every report file into ``folder`` and return their paths by kind."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "metrics": folder / METRICS_FILE,
        "predictions": folder / PREDICTIONS_FILE,
        "report": folder / REPORT_FILE,
        "chart": folder / CHART_FILE,
    }
    metrics = result.to_metrics()
    paths["metrics"].write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", "utf-8")
    with paths["predictions"].open("w", encoding="utf-8") as sink:
        for prediction in result.predictions:
            sink.write(json.dumps(prediction.to_record(), ensure_ascii=False) + "\n")
    write_chart(result, paths["chart"])
    paths["report"].write_text(markdown(metrics, CHART_FILE), "utf-8")
    return paths


def write_chart(result: EvaluationResult, path: Path) -> None:
    """Exact match per locale, bars grouped and coloured by language family."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    def family(locale: str) -> str:
        return group_of(locale, "family")

    ordered = sorted(
        result.locales, key=lambda loc: (family(loc), -result.locales[loc].exact_match)
    )
    families = list(dict.fromkeys(family(loc) for loc in ordered))
    palette = plt.get_cmap("tab20")
    colours = {name: palette(index % 20) for index, name in enumerate(families)}
    figure, axes = plt.subplots(figsize=(max(6.0, 0.28 * len(ordered) + 2), 4.8), dpi=120)
    axes.bar(
        range(len(ordered)),
        [100 * result.locales[loc].exact_match for loc in ordered],
        color=[colours[family(loc)] for loc in ordered],
    )
    axes.set_xticks(range(len(ordered)), ordered, rotation=90, fontsize=7)
    axes.set_ylabel("Exact match (%)")
    axes.set_ylim(0, 100)
    average = 100 * result.average["exact_match"]
    axes.axhline(average, color="black", linewidth=0.8, linestyle="--")
    axes.text(len(ordered) - 0.5, average + 1.5, f"mean {average:.1f}", ha="right", fontsize=7)
    handles = [Rectangle((0, 0), 1, 1, color=colours[name]) for name in families]
    axes.legend(handles, families, fontsize=6, ncol=3, loc="upper right", frameon=False)
    title = result.meta.get("model_name", "model")
    axes.set_title(f"{title}: exact match by locale ({result.meta.get('split', '')})", fontsize=9)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _metric_header(names: Sequence[str]) -> str:
    return " | ".join(_TITLES[m] for m in names)


def markdown(metrics: dict[str, Any], chart_name: str) -> str:
    meta = metrics.get("meta", {})
    names: list[str] = metrics.get("scored", list(METRICS))
    first = names[0]
    lines = ["# Evaluation report", ""]
    for key in ("model", "model_kind", "train_locales", "data", "split", "examples", "seconds"):
        if key in meta:
            value = meta[key]
            shown = ", ".join(value) if isinstance(value, list) else value
            lines.append(f"- **{key.replace('_', ' ')}**: {shown}")
    lines += [
        "",
        "Official MASSIVE metrics in percent; averages are unweighted means over locales.",
        "*Corrected* reads ja/zh annotations as they are meant: a slot ends at its `]` after",
        "ASCII text too, where the official reading keeps its label for the words after it.",
        "",
        f"| | {_metric_header(names)} |",
        "|---|" + "---:|" * len(names),
        "| **average** | " + " | ".join(_percent(metrics["average"][m]) for m in names) + " |",
        *(
            ["| average, corrected | " + " | ".join(_percent(corrected[m]) for m in names) + " |"]
            if (corrected := metrics.get("corrected", {}).get("average"))
            else []
        ),
        "",
        f"![Exact match by locale]({chart_name})",
        "",
    ]
    for grouping, groups in metrics["groups"].items():
        lines += [
            f"## By {grouping}",
            "",
            f"| {grouping} | locales | {_metric_header(names)} |",
            "|---|---:|" + "---:|" * len(names),
        ]
        ranked = sorted(groups.items(), key=lambda item: -float(item[1][first]))
        for name, values in ranked:
            lines.append(
                f"| {name} | {len(values['locales'])} | "
                + " | ".join(_percent(values[m]) for m in names)
                + " |"
            )
        lines.append("")
    lines += [
        "## By locale",
        "",
        f"| locale | language | n | {_metric_header(names)} |",
        "|---|---|---:|" + "---:|" * len(names),
    ]
    ranked_locales = sorted(metrics["locales"].items(), key=lambda item: -item[1][first])
    for locale, values in ranked_locales:
        info = locale_info(locale)
        lines.append(
            f"| {locale} | {info.language if info else ''} | {values['n']} | "
            + " | ".join(_percent(values[m]) for m in names)
            + " |"
        )
    return "\n".join(lines) + "\n"


def locale_table(result: EvaluationResult, *, title: str = "Dev metrics (%)") -> Table:
    table = Table(title=title, header_style="bold")
    table.add_column("locale")
    table.add_column("language")
    table.add_column("family")
    for metric in result.scored:
        table.add_column(_TITLES[metric], justify="right")
    for locale, scores in sorted(result.locales.items()):
        info = locale_info(locale)
        table.add_row(
            locale,
            info.language if info else "",
            info.family if info else "",
            *(_percent(getattr(scores, metric)) for metric in result.scored),
        )
    table.add_section()
    table.add_row(
        "[bold]average",
        f"{len(result.locales)} locales",
        "official",
        *(f"[bold]{_percent(result.average[m])}" for m in result.scored),
    )
    if result.corrected and result.corrected != result.locales:
        corrected = mean_scores(list(result.corrected.values()))
        table.add_row(
            "average",
            f"{len(result.corrected)} locales",
            "corrected ja/zh",
            *(_percent(corrected[m]) for m in result.scored),
        )
    return table
