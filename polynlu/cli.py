"""The ``polynlu`` command: data, train, evaluate, calibrate, distill, export, parse, serve."""

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
def calibrate(
    model: Annotated[Path, typer.Argument(help="A saved model folder (updated in place).")],
    data: DataOption,
    locales: Annotated[
        str, typer.Option(help="Locales to fit on; 'train' means the model's training locales.")
    ] = "train",
    split: Annotated[str, typer.Option(help="Partition to fit on.")] = "dev",
    check_locales: Annotated[
        str | None,
        typer.Option(help="Also report the calibration error on these locales ('all' or a list)."),
    ] = None,
    out_of_scope_threshold: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Flag out_of_scope below this calibrated confidence."),
    ] = 0.5,
    check_max_per_locale: Annotated[
        int | None, typer.Option(min=1, help="Check on at most this many utterances a locale.")
    ] = None,
    skip_invalid: SkipInvalid = False,
    show_progress: ShowProgress = True,
) -> None:
    """Fit a temperature to the intent confidences (and set the out-of-scope threshold).

    Fitting on the training locales' dev data keeps zero-shot locales unseen, as in training.
    """
    from polynlu.data.massive import cap_per_locale
    from polynlu.evaluation.evaluate import intent_probabilities
    from polynlu.models.base import load_model, read_config, write_config
    from polynlu.models.calibration import Calibration, expected_calibration_error
    from polynlu.models.calibration import calibrate as fit

    loaded = load_model(model)
    chosen_locales = ",".join(loaded.train_locales) if locales == "train" else locales
    fit_locales, examples = _read(
        data, chosen_locales, split, skip_invalid=skip_invalid, show_progress=show_progress
    )
    probabilities, labels = intent_probabilities(loaded, examples, show_progress=show_progress)
    if not len(labels):
        raise PolynluError(f"no {split} utterances with intents the model knows in {locales}")
    calibration = fit(
        probabilities,
        labels,
        out_of_scope_threshold=out_of_scope_threshold,
        description={"data": data, "split": split, "locales": fit_locales},
    )
    table = Table(
        title=f"Intent calibration of {model.name} (temperature {calibration.temperature:.3f})"
    )
    for column in ("data", "utterances", "ECE before", "ECE after", "accuracy", "out of scope"):
        table.add_column(column, justify="left" if column == "data" else "right")
    report = calibration.fitted_on or {}
    table.add_row(
        f"fit: {split} "
        + (",".join(fit_locales) if len(fit_locales) <= 3 else f"{len(fit_locales)} locales"),
        f"{report['utterances']:,}",
        f"{report['before']['ece']:.3f}",
        f"{report['after']['ece']:.3f}",
        f"{report['after']['accuracy']:.3f}",
        f"{report['after']['out_of_scope_rate']:.1%}",
    )
    if check_locales:
        checked, check_examples = _read(
            data, check_locales, split, skip_invalid=skip_invalid, show_progress=show_progress
        )
        check_probs, check_labels = intent_probabilities(
            loaded,
            cap_per_locale(check_examples, check_max_per_locale),
            show_progress=show_progress,
        )
        scaled = calibration.apply(check_probs)
        check = {
            "locales": checked,
            "utterances": len(check_labels),
            "ece_before": round(expected_calibration_error(check_probs, check_labels), 4),
            "ece_after": round(expected_calibration_error(scaled, check_labels), 4),
            "out_of_scope_rate": round(float((scaled.max(1) < out_of_scope_threshold).mean()), 4),
        }
        calibration = Calibration(
            calibration.temperature, calibration.out_of_scope_threshold, {**report, "check": check}
        )
        table.add_row(
            f"check: {split} {len(checked)} locales",
            f"{check['utterances']:,}",
            f"{check['ece_before']:.3f}",
            f"{check['ece_after']:.3f}",
            f"{float((scaled.argmax(1) == check_labels).mean()):.3f}",
            f"{check['out_of_scope_rate']:.1%}",
        )
    config = read_config(model)
    config["calibration"] = calibration.to_config()
    write_config(model, config)
    console.print(table)
    console.print(f"Saved the calibration in {model / 'config.json'}")


@app.command()
def distill(
    teacher: Annotated[Path, typer.Option(help="The trained joint model to learn from.")],
    data: DataOption,
    output: Annotated[Path, typer.Option(help="Folder for the student model.")],
    unlabeled_locales: Annotated[
        str, typer.Option(help="Locales whose train utterances (labels ignored) it learns on.")
    ] = "all",
    unlabeled_per_locale: Annotated[
        int | None, typer.Option(min=1, help="At most this many unlabelled utterances a locale.")
    ] = 1000,
    layers: Annotated[
        int | None, typer.Option(min=1, help="Student encoder layers (default: 4).")
    ] = None,
    hidden: Annotated[
        int | None, typer.Option(min=32, help="Student width (default: the teacher's).")
    ] = None,
    vocab_size: Annotated[
        int | None,
        typer.Option(min=16, help="Sub-words kept, the most frequent (default: 50,000)."),
    ] = None,
    start_from: Annotated[
        Path | None,
        typer.Option(
            help="Keep training this student (its layers and vocabulary) instead of cutting a "
            "new one from the teacher: for example on fresh unlabelled text (another --seed)."
        ),
    ] = None,
    temperature: Annotated[float, typer.Option(min=0.1, help="Softening of the teacher.")] = 2.0,
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs.")] = 3,
    batch_size: Annotated[int, typer.Option(min=1, help="Utterances per step.")] = 32,
    learning_rate: Annotated[float, typer.Option(help="Encoder learning rate.")] = 2e-4,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    resume: Annotated[bool, typer.Option(help="Continue from OUTPUT/checkpoint.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    skip_invalid: SkipInvalid = False,
    show_progress: ShowProgress = True,
) -> None:
    """Distil a teacher into a smaller student: pruned vocabulary, fewer layers, trained on
    the teacher's soft labels for unlabelled utterances of every chosen locale, plus the gold
    labels of the teacher's training locales."""
    from polynlu.data.massive import cap_per_locale
    from polynlu.models.base import load_model
    from polynlu.models.joint import JointModel
    from polynlu.training.distill import DistillTrainer, StudentSettings
    from polynlu.training.trainer import resolve_device

    # Only the shape options given: StudentSettings holds the defaults.
    shape = {name: value for name, value in (("layers", layers), ("hidden", hidden),
             ("vocab_size", vocab_size)) if value is not None}  # fmt: skip
    if start_from is not None and shape:
        options = ", ".join("--" + name.replace("_", "-") for name in shape)
        raise PolynluError(
            f"{options} cannot change a student given with --start-from ({start_from}); "
            "it keeps its own shape"
        )

    loaded = load_model(teacher)
    if not isinstance(loaded, JointModel):
        raise PolynluError(f"{teacher} is a {loaded.kind} model; the teacher must be a joint model")
    loaded.to(resolve_device(device))
    labelled_locales = ",".join(loaded.train_locales)
    _, labelled = _read(
        data, labelled_locales, "train", skip_invalid=skip_invalid, show_progress=show_progress
    )
    _, dev = _read(
        data, labelled_locales, "dev", skip_invalid=skip_invalid, show_progress=show_progress
    )
    chosen, pool = _read(
        data, unlabeled_locales, "train", skip_invalid=skip_invalid, show_progress=show_progress
    )
    unlabelled = cap_per_locale(
        [e for e in pool if e.locale not in loaded.train_locales], unlabeled_per_locale, seed
    )
    config = TrainConfig(
        backbone=loaded.backbone.name,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        freeze_layers=0,
        seed=seed,
        device=device,
        max_length=loaded.settings.max_length,
    )
    student = StudentSettings(
        **shape,
        temperature=temperature,
        start_from=None if start_from is None else str(start_from),
    )
    console.print(
        f"Distilling {teacher.name} ({loaded.parameter_count() / 1e6:.0f}M parameters) on "
        f"{len(labelled):,} labelled utterances ({labelled_locales}) and {len(unlabelled):,} "
        f"unlabelled ones from {len(chosen)} locales"
    )
    trainer = DistillTrainer(
        loaded, student, config, output, show_progress=show_progress, console=console
    )
    model = trainer.fit(labelled, unlabelled, dev, resume=resume)
    console.print(
        f"Saved the student ({model.parameter_count() / 1e6:.1f}M parameters, "
        f"{model.training.get('vocabulary', 0):,} sub-words) to {output}"
    )


@app.command()
def export(
    model: Annotated[Path, typer.Argument(help="A trained joint model folder.")],
    output: Annotated[Path, typer.Option(help="Folder for the exported model.")],
    format: Annotated[str, typer.Option("--format", help="Export format: onnx.")] = "onnx",
    quantize: Annotated[
        str | None,
        typer.Option(
            help="int8 or int8-per-tensor: dynamic int8 quantization (onnxruntime), one scale "
            "per output channel of each weight matrix, or one per matrix."
        ),
    ] = None,
) -> None:
    """Export a joint model for onnxruntime: NLU.load, evaluate, parse and serve take the
    folder, and run it without PyTorch."""
    from polynlu.models.base import load_model
    from polynlu.models.joint import JointModel

    if format != "onnx":
        raise PolynluError(f"unknown export format '{format}' (available: onnx)")
    loaded = load_model(model)
    if not isinstance(loaded, JointModel):
        raise PolynluError(f"{model} is a {loaded.kind} model; only joint models export to ONNX")
    from polynlu.models.export import export_onnx

    with console.status(f"Exporting {model.name} to ONNX" + (f" ({quantize})" if quantize else "")):
        export_onnx(loaded, output, quantize=quantize)
    size = (output / "model.onnx").stat().st_size
    console.print(
        f"Wrote {output / 'model.onnx'} ({size / 2**20:.1f} MiB) and its tokenizer and config"
    )


SLOT_STYLES = ("cyan", "magenta", "green", "yellow", "blue", "red")


@app.command()
def parse(
    model: Annotated[Path, typer.Argument(help="A saved model folder.")],
    text: Annotated[str, typer.Argument(help="The utterance, or '-' to read lines from stdin.")],
    locale: Annotated[
        str | None, typer.Option(help="The utterance's locale, e.g. de-DE (else detected).")
    ] = None,
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
    styles = {
        name: SLOT_STYLES[i % len(SLOT_STYLES)]
        for i, name in enumerate(dict.fromkeys(s.slot for s in result.slots))
    }
    shown = Text(text)
    for slot in result.slots:
        shown.stylize(f"bold reverse {styles[slot.slot]}", slot.start, slot.end)
    console.print(shown)
    where = f"{result.locale or 'unknown locale'}"
    if result.locale_source:
        where += f" ({result.locale_source}"
        where += ", zero-shot)" if result.zero_shot else ")"
    flag = " [bold red]out of scope[/]" if result.out_of_scope else ""
    console.print(
        f"intent [bold]{escape(result.intent)}[/] ({result.confidence:.2f}){flag} · {where}",
        highlight=False,
    )
    for slot in result.slots:
        console.print(
            f"  {escape(slot.slot)} = [{styles[slot.slot]}]{escape(slot.value)}[/] "
            f"\\[{slot.start}:{slot.end}]",
            highlight=False,
        )
    runners_up = [a for a in result.alternatives if a.intent != result.intent][:2]
    if runners_up:
        console.print(
            "  [dim]else: "
            + ", ".join(f"{escape(a.intent)} ({a.confidence:.2f})" for a in runners_up),
            highlight=False,
        )


@app.command()
def serve(
    model: Annotated[Path, typer.Argument(help="A saved model folder.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Processes, each with its own model.")] = 1,
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="Model threads per worker (default: the cores over the workers)."),
    ] = None,
    max_text_chars: Annotated[int, typer.Option(min=1, help="Longest utterance accepted.")] = 2000,
    max_batch_items: Annotated[
        int, typer.Option(min=1, help="Most items in one /v1/parse/batch request.")
    ] = 64,
    max_body_bytes: Annotated[int, typer.Option(min=64, help="Largest request body.")] = 1_000_000,
    micro_batch: Annotated[
        int, typer.Option(min=1, help="Most utterances in one model call.")
    ] = 64,
    micro_batch_wait_ms: Annotated[
        float, typer.Option(min=0.0, help="How long a request waits to share a model call.")
    ] = 0.0,
    out_of_scope_threshold: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Override the model's out-of-scope threshold."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Serve the model over HTTP: POST /v1/parse, /v1/parse/batch; GET /v1/health,
    /v1/model, /metrics; OpenAPI at /docs."""
    from polynlu.models.base import read_config
    from polynlu.serving.app import ServeSettings
    from polynlu.serving.server import run_server

    read_config(model)  # a clear error now, rather than one per worker
    settings = ServeSettings(
        model=str(model.resolve()),
        max_text_chars=max_text_chars,
        max_batch_items=max_batch_items,
        max_body_bytes=max_body_bytes,
        micro_batch=micro_batch,
        micro_batch_wait_ms=micro_batch_wait_ms,
        out_of_scope_threshold=out_of_scope_threshold,
        # Workers × threads beyond the cores only adds contention.
        threads=threads or max(1, _usable_cores() // workers),
    )
    run_server(settings, host=host, port=port, workers=workers, log_level=log_level)


def _usable_cores() -> int:
    import os

    if hasattr(os, "sched_getaffinity"):  # Linux: the cores this process may run on
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


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
