"""The ``polynlu`` command: data, train, evaluate, parse."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from polynlu.errors import DataError, PolynluError
from polynlu.training.config import TrainConfig

if TYPE_CHECKING:
    from polynlu.data.massive import Example

app = typer.Typer(
    help="Multilingual intents and slots: one model for 50+ languages.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
data_app = typer.Typer(help="Get MASSIVE and look inside a data set.", no_args_is_help=True)
app.add_typer(data_app, name="data")

console = Console()
errors = Console(stderr=True)
BASELINE_FEATURES = 2**17

DataOption = Annotated[
    str,
    typer.Option(
        "--data",
        help="A MASSIVE tarball, a folder of <locale>.jsonl files, or 'massive' (fetched).",
    ),
]
SkipInvalid = Annotated[
    bool,
    typer.Option("--skip-invalid", help="Report rows that cannot be read, skip them and go on."),
]
ShowProgress = Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bars.")]


def _report_invalid(invalid: list[DataError], *, shown: int = 10) -> None:
    if not invalid:
        return
    errors.print(f"[yellow]Skipped {len(invalid)} invalid row(s):")
    for error in invalid[:shown]:
        errors.print(f"  [yellow]•[/] {escape(str(error))}", highlight=False)
    if len(invalid) > shown:
        errors.print(f"  … and {len(invalid) - shown} more")


def _read(
    data: str,
    locales: str,
    split: str | None,
    *,
    skip_invalid: bool,
    show_progress: bool,
) -> tuple[list[str], list[Example]]:
    """Read ``split`` (None: every partition) of ``locales``; return the locales and examples."""
    from polynlu.data import MassiveData, parse_locale_list

    dataset = MassiveData(data)
    chosen = parse_locale_list(locales, dataset.locales)
    result = dataset.read(chosen, split, skip_invalid=skip_invalid, show_progress=show_progress)
    _report_invalid(result.invalid)
    return chosen, result.examples


@data_app.command("fetch")
def data_fetch(
    name: Annotated[str, typer.Argument(help="The data set to fetch: 'massive'.")],
    source: Annotated[
        str | None,
        typer.Option(help="A URL, a local tarball or a folder instead of the official download."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Fetch again even if the cache has it.")] = False,
) -> None:
    """Download MASSIVE 1.1 into the cache (set POLYNLU_CACHE to move it)."""
    from polynlu.data import fetch_massive, massive_locales
    from polynlu.data.sources import cache_dir

    if name != "massive":
        raise PolynluError(f"unknown data set '{name}': only 'massive' can be fetched")
    started = time.perf_counter()
    folder = fetch_massive(source, force=force)
    files = sorted(folder.glob("*.jsonl"))
    known = sum(1 for f in files if f.stem in massive_locales())
    console.print(
        f"MASSIVE is in [bold]{folder}[/] ({len(files)} locale files, {known} MASSIVE locales; "
        f"{time.perf_counter() - started:.1f} s). Use [bold]--data massive[/]. "
        f"Cache: {cache_dir()}"
    )


@data_app.command("stats")
def data_stats(
    data: Annotated[str, typer.Argument(help="A tarball, a folder, or 'massive'.")],
    locales: Annotated[str, typer.Option(help="'all' or a comma-separated list.")] = "all",
    skip_invalid: SkipInvalid = False,
    show_progress: ShowProgress = True,
) -> None:
    """Counts per locale, partition, scenario, intent and slot type."""
    chosen, examples = _read(
        data, locales, None, skip_invalid=skip_invalid, show_progress=show_progress
    )
    partitions = sorted({e.partition for e in examples})
    per_locale: Counter[tuple[str, str]] = Counter((e.locale, e.partition) for e in examples)
    console.print(f"[bold]Utterances per locale and partition[/] ({len(chosen)} locales)")
    table = Table()
    table.add_column("locale")
    for partition in partitions:
        table.add_column(partition, justify="right")
    for locale in chosen:
        table.add_row(locale, *(f"{per_locale[(locale, p)]:,}" for p in partitions))
    table.add_section()
    totals = Counter(e.partition for e in examples)
    table.add_row("[bold]total", *(f"[bold]{totals[p]:,}" for p in partitions))
    console.print(table)

    def counts_table(title: str, counts: Counter[str], what: str) -> Table:
        console.print(f"[bold]{title}[/] ({len(counts)})")
        result = Table()
        result.add_column(what)
        result.add_column("utterances" if what != "slot type" else "slots", justify="right")
        for key, count in counts.most_common():
            result.add_row(key, f"{count:,}")
        return result

    console.print(counts_table("Scenarios", Counter(e.scenario for e in examples), "scenario"))
    console.print(counts_table("Intents", Counter(e.intent for e in examples), "intent"))
    slot_counts = Counter(span.label for e in examples for span in e.slots)
    console.print(counts_table("Slot types", slot_counts, "slot type"))


@app.command()
def train(
    data: DataOption,
    output: Annotated[Path, typer.Option(help="Folder to save the model in.")],
    model: Annotated[
        str, typer.Option(help="Model kind: 'joint' (neural) or 'baseline'.")
    ] = "joint",
    train_locales: Annotated[
        str, typer.Option(help="'all', one locale or a comma-separated list.")
    ] = "en-US",
    backbone: Annotated[
        str,
        typer.Option(help="Joint: 'multilingual-e5-small' (bundled), a folder or a HF name."),
    ] = TrainConfig.backbone,
    epochs: Annotated[
        int, typer.Option(min=1, help="Joint: training epochs.")
    ] = TrainConfig.epochs,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Joint: utterances per step.")
    ] = TrainConfig.batch_size,
    learning_rate: Annotated[
        float, typer.Option(help="Joint: encoder learning rate.")
    ] = TrainConfig.learning_rate,
    freeze_embeddings: Annotated[
        bool, typer.Option(help="Joint: keep the word-embedding matrix fixed.")
    ] = TrainConfig.freeze_embeddings,
    freeze_layers: Annotated[
        int, typer.Option(min=0, help="Joint: also keep the lowest N encoder layers fixed.")
    ] = TrainConfig.freeze_layers,
    layer_decay: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Joint: layer-wise learning-rate decay (1 = none)."),
    ] = TrainConfig.layer_decay,
    max_length: Annotated[
        int, typer.Option(min=8, help="Joint: sub-words per utterance.")
    ] = TrainConfig.max_length,
    patience: Annotated[
        int, typer.Option(min=1, help="Joint: epochs without gain before stopping.")
    ] = TrainConfig.patience,
    device: Annotated[str, typer.Option(help="Joint: auto, cpu or cuda.")] = TrainConfig.device,
    resume: Annotated[bool, typer.Option(help="Joint: continue from OUTPUT/checkpoint.")] = False,
    max_per_locale: Annotated[
        int | None, typer.Option(min=1, help="Use at most this many utterances per locale.")
    ] = None,
    dev_max_per_locale: Annotated[
        int | None, typer.Option(min=1, help="Joint: cap the dev utterances used for selection.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    hash_features: Annotated[
        int, typer.Option(min=16, help="Baseline: size of the hashed feature space.")
    ] = BASELINE_FEATURES,
    skip_invalid: SkipInvalid = False,
    show_progress: ShowProgress = True,
) -> None:
    """Train on the train partition of the chosen locales and save the model.

    The joint model picks its best epoch on the dev partition of the training locales only.
    """
    from polynlu.data.massive import cap_per_locale

    if model not in ("joint", "baseline"):
        raise PolynluError(f"unknown model kind '{model}' (available: joint, baseline)")
    chosen, examples = _read(
        data, train_locales, "train", skip_invalid=skip_invalid, show_progress=show_progress
    )
    examples = cap_per_locale(examples, max_per_locale, seed)
    started = time.perf_counter()
    if model == "baseline":
        from polynlu.models.baseline import BaselineConfig, BaselineModel

        trained = BaselineModel.fit(
            examples,
            BaselineConfig(n_features=hash_features, seed=seed),
            show_progress=show_progress,
        )
        trained.training["seconds"] = round(time.perf_counter() - started, 1)
        trained.training["data"] = data
        trained.save(output)
    else:
        from polynlu.training.trainer import JointTrainer

        _, dev = _read(
            data, ",".join(chosen), "dev", skip_invalid=skip_invalid, show_progress=show_progress
        )
        config = TrainConfig(
            backbone=backbone,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            freeze_embeddings=freeze_embeddings,
            freeze_layers=freeze_layers,
            layer_decay=layer_decay,
            max_length=max_length,
            patience=patience,
            seed=seed,
            device=device,
        )
        JointTrainer(config, output, show_progress=show_progress, console=console).fit(
            examples, cap_per_locale(dev, dev_max_per_locale, seed), resume=resume
        )
    console.print(
        f"Trained [bold]{model}[/] on {len(examples):,} utterances from {len(chosen)} locale(s) "
        f"in {time.perf_counter() - started:.1f} s → [bold]{output}[/]"
    )


@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="A saved model folder.")],
    data: DataOption,
    output: Annotated[Path, typer.Option(help="Folder for metrics.json, predictions and report.")],
    split: Annotated[str, typer.Option(help="Partition to score: dev, test or train.")] = "dev",
    locales: Annotated[str, typer.Option(help="'all' or a comma-separated list.")] = "all",
    batch_size: Annotated[int, typer.Option(min=1, help="Utterances per model call.")] = 256,
    skip_invalid: SkipInvalid = False,
    show_progress: ShowProgress = True,
) -> None:
    """Score a model with MASSIVE's official metrics, per locale and language group."""
    from polynlu import NLU, __version__
    from polynlu.evaluation.evaluate import evaluate as run_evaluation
    from polynlu.evaluation.report import locale_table, write_report

    nlu = NLU.load(model)
    _, examples = _read(
        data, locales, split, skip_invalid=skip_invalid, show_progress=show_progress
    )
    started = time.perf_counter()
    meta = {
        "model": str(model),
        "model_name": model.name,
        "model_kind": nlu.model.kind,
        "train_locales": nlu.model.train_locales,
        "data": data,
        "split": split,
        "examples": len(examples),
        "polynlu_version": __version__,
    }
    result = run_evaluation(nlu, examples, batch_size=batch_size, show_progress=show_progress)
    result.meta = {**meta, "seconds": round(time.perf_counter() - started, 1)}
    paths = write_report(result, output)
    console.print(locale_table(result, title=f"{model.name} on {split} (%)"))
    console.print("Wrote " + ", ".join(str(p) for p in paths.values()))


@app.command()
def parse(
    model: Annotated[Path, typer.Argument(help="A saved model folder.")],
    text: Annotated[str, typer.Argument(help="The utterance, or '-' to read lines from stdin.")],
    locale: Annotated[str | None, typer.Option(help="The utterance's locale, e.g. de-DE.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Interpret one utterance (or one per line from stdin with '-', as JSON lines)."""
    from polynlu import NLU

    nlu = NLU.load(model)
    if text == "-":
        for line in sys.stdin:
            if line.strip():
                result = nlu.parse(line.rstrip("\n"), locale=locale)
                sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        return
    if not text.strip():
        raise PolynluError("the utterance is empty")
    result = nlu.parse(text, locale=locale)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    shown = Text(text)
    for slot in result.slots:
        shown.stylize("bold reverse cyan", slot.start, slot.end)
    console.print(shown)
    console.print(f"intent [bold]{result.intent}[/] ({result.confidence:.2f})")
    for slot in result.slots:
        console.print(f"  {slot.slot} = [cyan]{slot.value}[/] [{slot.start}:{slot.end}]")


def main() -> None:
    try:
        app()
    except PolynluError as error:
        errors.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        sys.exit(2)
    except OSError as error:  # unreadable or unwritable files: the message says which
        errors.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        errors.print("[yellow]interrupted")
        sys.exit(130)
