"""The ``polynlu`` command: data, train, evaluate, calibrate, distill, export, parse, serve."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from polynlu.augment.lexicons import ADAPT_MODES, Adaptation, AdaptSettings
from polynlu.augment.projection import ProjectSettings
from polynlu.data.formats import DATA_FORMATS
from polynlu.errors import DataError, PolynluError
from polynlu.learning.learner import LearnSettings
from polynlu.models.calibration import DEFAULT_OUT_OF_SCOPE_THRESHOLD
from polynlu.models.export import EXPORT_FORMATS, ONNX_QUANTIZATIONS
from polynlu.options import with_options
from polynlu.serving.settings import ServeSettings
from polynlu.text.segmentation import Segmentation
from polynlu.text.validation import LOCALE_MESSAGE, is_locale, text_problem
from polynlu.training.base import TRAINERS
from polynlu.training.config import (
    ALIGN_WEIGHT,
    FEW_SHOT_EXAMPLES_PER_INTENT,
    FEW_SHOT_MAX_EXAMPLES,
    SELF_TRAINING_EPOCHS,
    SELF_TRAINING_LEARNING_RATE,
    SELF_TRAINING_PER_LOCALE,
    BaselineConfig,
    DistillConfig,
    StudentSettings,
    TrainConfig,
    is_few_shot,
    recipe_for,
    self_training,
)

if TYPE_CHECKING:
    from polynlu import NLU
    from polynlu.assistant.pipeline import Turn
    from polynlu.data.example import Example
    from polynlu.models.calibration import Calibration
    from polynlu.models.joint import JointModel
    from polynlu.types import Interpretation

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
DISTILL = DistillConfig()

DataOption = Annotated[
    str,
    typer.Option(
        "--data",
        help="Data in any format polynlu reads (detected; see --format): a MASSIVE tarball or "
        "folder, 'massive' (fetched), Rasa YAML, Snips JSON, CoNLL, or polynlu YAML.",
    ),
]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format", help=f"The data's format, if not detected: {DATA_FORMATS.summaries()}."
    ),
]
DataLocaleOption = Annotated[
    str | None,
    typer.Option(
        "--data-locale", help="The locale of data whose format names none (Rasa, CoNLL) [en-US]."
    ),
]
SkipInvalid = Annotated[
    bool,
    typer.Option("--skip-invalid", help="Report rows that cannot be read, skip them and go on."),
]
ShowProgress = Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bars.")]
ReadingLexicon = Annotated[
    Path | None,
    typer.Option(
        "--lexicon",
        exists=True,
        help="A bilingual lexicon or a folder of en_<code>.tsv: requests in its languages are "
        "also read into English word for word, and the intent chosen from both readings "
        "(docs/languages.md).",
    ),
]


def _report_invalid(invalid: list[DataError], *, shown: int = 10) -> None:
    if not invalid:
        return
    errors.print(f"[yellow]Skipped {len(invalid)} invalid row(s):")
    for error in invalid[:shown]:
        errors.print(f"  [yellow]•[/] {escape(str(error))}", highlight=False)
    if len(invalid) > shown:
        errors.print(f"  … and {len(invalid) - shown} more")


@dataclass(frozen=True)
class DataSource:
    """What ``--data``, ``--format`` and ``--data-locale`` name."""

    path: str
    format: str | None = None
    locale: str | None = None


class DataRead(NamedTuple):
    locales: list[str]
    """The chosen locales."""
    examples: list[Example]
    segmentation: Segmentation
    partitioned: bool
    slot_values: dict[str, dict[str, str]]
    available: list[str]
    """Every locale the data has."""


def _read(
    source: DataSource,
    locales: str | None,
    split: str | None,
    *,
    skip_invalid: bool,
    show_progress: bool,
) -> DataRead:
    """Read ``split`` (None: everything) of ``locales`` (None: MASSIVE's en-US, or every
    locale of other data). Data without partitions gives all its examples for any split."""
    from polynlu.data import MassiveData, parse_locale_list
    from polynlu.data.formats import detect_format, read_data

    format = source.format or detect_format(Path(source.path))
    if format == "massive":
        massive = MassiveData(source.path)
        chosen = parse_locale_list(locales or "en-US", massive.locales)
        result = massive.read(chosen, split, skip_invalid=skip_invalid, show_progress=show_progress)
        _report_invalid(result.invalid)
        return DataRead(chosen, result.examples, "benchmark", True, {}, massive.locales)
    dataset = read_data(source.path, format=format, locale=source.locale, skip_invalid=skip_invalid)
    _report_invalid(dataset.skipped)
    chosen = parse_locale_list(locales or dataset.locales, dataset.locales)
    examples = [
        e
        for e in dataset.examples
        if e.locale in chosen and (split is None or not dataset.partitioned or e.partition == split)
    ]
    return DataRead(
        chosen,
        examples,
        dataset.segmentation,
        dataset.partitioned,
        dataset.slot_values(),
        dataset.locales,
    )


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
    data: Annotated[str, typer.Argument(help="Data in any format polynlu reads, or 'massive'.")],
    locales: Annotated[str, typer.Option(help="'all' or a comma-separated list.")] = "all",
    format: FormatOption = None,
    data_locale: DataLocaleOption = None,
    skip_invalid: SkipInvalid = False,
    show_progress: ShowProgress = True,
) -> None:
    """Counts per locale, partition, scenario, intent and slot type."""
    source = DataSource(data, format, data_locale)
    chosen, examples, *_ = _read(
        source, locales, None, skip_invalid=skip_invalid, show_progress=show_progress
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

    scenarios = Counter(e.scenario for e in examples if e.scenario)
    if scenarios:
        console.print(counts_table("Scenarios", scenarios, "scenario"))
    console.print(counts_table("Intents", Counter(e.intent for e in examples), "intent"))
    slot_counts = Counter(span.label for e in examples for span in e.slots)
    console.print(counts_table("Slot types", slot_counts, "slot type"))


@data_app.command("convert")
def data_convert(
    data: Annotated[str, typer.Argument(help="Data in any format polynlu reads.")],
    to: Annotated[str, typer.Option("--to", help=f"Format to write: {DATA_FORMATS.summaries()}.")],
    output: Annotated[Path, typer.Option(help="File (or, for MASSIVE, folder) to write.")],
    format: FormatOption = None,
    data_locale: DataLocaleOption = None,
    skip_invalid: SkipInvalid = False,
) -> None:
    """Convert between formats, losslessly where the target can hold it; what it cannot
    hold is named."""
    from polynlu.data.formats import read_data, write_data

    DATA_FORMATS.get(to)  # a clear error before reading
    dataset = read_data(data, format=format, locale=data_locale, skip_invalid=skip_invalid)
    _report_invalid(dataset.skipped)
    losses = write_data(dataset, output, to)
    console.print(
        f"Converted {len(dataset.examples):,} utterances ({len(dataset.intents)} intents, "
        f"{len(dataset.slot_types)} slot types, {len(dataset.locales)} locale(s)) from "
        f"{dataset.format} to {to} → [bold]{output}[/]"
    )
    for loss in losses:
        errors.print(f"[yellow]{to} cannot hold:[/] {escape(loss)}", highlight=False)


@app.command()
def train(
    data: DataOption,
    output: Annotated[Path, typer.Option(help="Folder to save the model in.")],
    model: Annotated[
        str, typer.Option(help=f"Model kind: {TRAINERS.summaries()}.")
    ] = TRAINERS.names()[0],
    train_locales: Annotated[
        str | None,
        typer.Option(
            help="'all', one locale or a comma-separated list [default: en-US for MASSIVE, "
            "every locale of other data]."
        ),
    ] = None,
    format: FormatOption = None,
    data_locale: DataLocaleOption = None,
    with_added: Annotated[
        Path | None,
        typer.Option(
            help="A model folder whose examples added since its training (POST "
            "/v1/intents/{name}/examples, NLU.add_examples) join the training data."
        ),
    ] = None,
    backbone: Annotated[
        str | None,
        typer.Option(
            help="Joint: 'multilingual-e5-small' (bundled), a folder or a HF name "
            f"[default: {TrainConfig.backbone}]."
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Training epochs [default: joint {TrainConfig.epochs}, "
            f"baseline {BaselineConfig.epochs}].",
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1, help=f"Joint: utterances per step [default: {TrainConfig.batch_size}]."
        ),
    ] = None,
    learning_rate: Annotated[
        float | None,
        typer.Option(help=f"Joint: encoder learning rate [default: {TrainConfig.learning_rate}]."),
    ] = None,
    freeze_embeddings: Annotated[
        bool | None,
        typer.Option(
            "--freeze-embeddings/--no-freeze-embeddings",
            help="Joint: keep the word-embedding matrix fixed "
            f"[default: {TrainConfig.freeze_embeddings}].",
        ),
    ] = None,
    freeze_layers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Joint: also keep the lowest N encoder layers fixed "
            f"[default: {TrainConfig.freeze_layers}].",
        ),
    ] = None,
    layer_decay: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Joint: layer-wise learning-rate decay, 1 = none "
            f"[default: {TrainConfig.layer_decay}].",
        ),
    ] = None,
    max_length: Annotated[
        int | None,
        typer.Option(
            min=8, help=f"Joint: sub-words per utterance [default: {TrainConfig.max_length}]."
        ),
    ] = None,
    patience: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Joint: epochs without gain before stopping [default: {TrainConfig.patience}].",
        ),
    ] = None,
    device: Annotated[
        str | None, typer.Option(help=f"Joint: auto, cpu or cuda [default: {TrainConfig.device}].")
    ] = None,
    resume: Annotated[bool, typer.Option(help="Joint: continue from OUTPUT/checkpoint.")] = False,
    max_per_locale: Annotated[
        int | None, typer.Option(min=1, help="Use at most this many utterances per locale.")
    ] = None,
    dev_max_per_locale: Annotated[
        int | None, typer.Option(min=1, help="Joint: cap the dev utterances used for selection.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed [default: 0].")] = None,
    n_features: Annotated[
        int | None,
        typer.Option(
            "--n-features",
            "--hash-features",
            min=16,
            help="Baseline: size of the hashed feature space "
            f"[default: {BaselineConfig.n_features}].",
        ),
    ] = None,
    lexicon: Annotated[
        Path | None,
        typer.Option(
            help="A bilingual lexicon (english<TAB>translation) or a folder of "
            "en_<code>.tsv: the model also learns the lexicons' languages from English "
            "utterances given their words (--adapt-mode; docs/languages.md)."
        ),
    ] = None,
    adapt_locales: Annotated[
        str | None,
        typer.Option(
            help="With --lexicon: the languages to adapt to, in any code system "
            "('qu,quy_Latn') [default: every lexicon's]."
        ),
    ] = None,
    adapt_per_locale: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="With --adapt-mode translate: translate at most this many English "
            "utterances into each language (a sample of its own for each).",
        ),
    ] = None,
    adapt_mode: Annotated[
        str,
        typer.Option(
            help=f"With --lexicon, one of {', '.join(ADAPT_MODES)}: 'code-switch' trains half "
            "of the English utterances with half their words swapped for translations into "
            "any of the languages, mixed; 'translate' adds each language's own word-for-word "
            "translations of the English data (docs/languages.md measures both).",
        ),
    ] = "code-switch",
    adapt_drop_unknown: Annotated[
        bool,
        typer.Option(
            help="With --adapt-mode translate: leave out the English words a lexicon lacks "
            "instead of keeping them in the translation."
        ),
    ] = False,
    adapt_align: Annotated[
        bool,
        typer.Option(
            help="With --lexicon: pull each translation's sentence embedding toward the "
            "untrained encoder's embedding of its English source while training."
        ),
    ] = False,
    extend_vocabulary: Annotated[
        bool,
        typer.Option(
            "--extend-vocabulary/--no-extend-vocabulary",
            help="With --lexicon (joint): words of a lexicon in a script the tokenizer lacks "
            "(Tibetan, N'Ko …) become pieces of their own, embedded from their English, "
            "before training.",
        ),
    ] = True,
    code_switch: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Joint: train this share of the English utterances code-switched, words "
            "swapped for their nearest words in other languages in the encoder's own "
            "vocabulary (no dictionary): better transfer to other languages for a little "
            "English accuracy; 0.5 measured in docs/results.md.",
        ),
    ] = None,
    skip_invalid: SkipInvalid = False,
    show_progress: ShowProgress = True,
) -> None:
    """Train on the train partition of the chosen locales and save the model.

    The joint model picks its best epoch on the dev partition of the training locales only.
    Under `torchrun --nproc-per-node N -m polynlu train ...` N processes train it together
    (PyTorch DDP: gloo on CPUs, NCCL on GPUs); the first one reports and saves.
    """
    from polynlu.data.example import hold_out
    from polynlu.data.massive import cap_per_locale
    from polynlu.training import TrainingData
    from polynlu.training.distributed import current_processes

    if not current_processes().main:  # one of several torchrun processes: the first reports
        console.quiet = True
        show_progress = False

    trainer_type = TRAINERS.get(model)
    options = dict(
        backbone=backbone,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        freeze_embeddings=freeze_embeddings,
        freeze_layers=freeze_layers,
        layer_decay=layer_decay,
        max_length=max_length,
        patience=patience,
        device=device,
        seed=seed,
        n_features=n_features,
    )
    config = with_options(trainer_type.config_type(), **options)
    source = DataSource(data, format, data_locale)
    chosen, examples, segmentation, partitioned, slot_values, available = _read(
        source, train_locales, "train", skip_invalid=skip_invalid, show_progress=show_progress
    )
    examples = cap_per_locale(examples, max_per_locale, config.seed)
    if adapt_mode not in ADAPT_MODES:
        raise PolynluError(f"--adapt-mode '{adapt_mode}': give one of {', '.join(ADAPT_MODES)}")
    if adapt_mode == "code-switch" and (adapt_per_locale or adapt_drop_unknown):
        raise PolynluError(
            "--adapt-per-locale and --adapt-drop-unknown shape translations, which --adapt-mode "
            "code-switch (the default) does not make: add --adapt-mode translate"
        )
    adapting = adapt_locales or adapt_per_locale or adapt_drop_unknown or adapt_align
    if lexicon is None and (adapting or adapt_mode != "code-switch"):
        raise PolynluError(
            "--adapt-locales, --adapt-per-locale, --adapt-drop-unknown, --adapt-align and "
            "--adapt-mode need --lexicon"
        )
    if adapt_align and trainer_type.config_type is not TrainConfig:
        raise PolynluError("--adapt-align needs --model joint: it moves the encoder")
    if code_switch and trainer_type.config_type is not TrainConfig:
        raise PolynluError("--code-switch needs --model joint: its words come from the encoder")
    if with_added is not None:
        from polynlu.models.base import read_added_examples, read_model_config

        read_model_config(with_added)  # a clear error if it is not a model folder
        added = read_added_examples(with_added)
        examples += added
        console.print(
            f"Joined {len(added):,} example(s) added to {with_added} since its training "
            f"({', '.join(sorted({e.intent for e in added})) or 'none'})"
        )
    joint = trainer_type.config_type is TrainConfig
    few_shot = joint and is_few_shot(examples)
    if joint:
        # The defaults follow the data: the few-shot recipe for a handful of examples an intent.
        config = with_options(recipe_for(examples, seed=config.seed), **options)
    if partitioned:
        dev = _read(
            source, ",".join(chosen), "dev", skip_invalid=skip_invalid, show_progress=show_progress
        ).examples
    elif few_shot:
        dev = examples
        console.print(
            f"A few examples (≤ {FEW_SHOT_EXAMPLES_PER_INTENT} for most intents, or fewer "
            f"than {FEW_SHOT_MAX_EXAMPLES:,} in all): the few-shot recipe, trained on all of "
            "them and choosing its epoch on them"
        )
    else:
        examples, dev = hold_out(examples, seed=config.seed)
        console.print(
            f"The data has no dev partition: {len(dev):,} of its utterances (a tenth of each "
            "intent's) are held out to choose the best epoch"
        )
    anchor_sources: dict[Example, Example] = {}
    adaptation: Adaptation | None = None
    if lexicon is not None:
        # After the recipe and the dev set are chosen: they follow the real labels, and no
        # translation of a held-out utterance is trained on.
        settings = AdaptSettings(
            mode=adapt_mode,
            per_locale=adapt_per_locale,
            keep_unknown=not adapt_drop_unknown,
            seed=config.seed,
        )
        adaptation = _adapt(examples, lexicon, available, adapt_locales, settings, skip_invalid)
        examples = adaptation.with_adaptation(examples)
        if adapt_align and isinstance(config, TrainConfig):
            anchor_sources = adaptation.sources
            config = replace(config, align_weight=ALIGN_WEIGHT)
    if code_switch and isinstance(config, TrainConfig):
        examples = _code_switch(examples, config.backbone, code_switch, config.seed, show_progress)
    _say_settings(f"Training {model}", config)
    started = time.perf_counter()
    trainer = trainer_type(config, output, show_progress=show_progress)
    training_data = TrainingData(
        examples,
        cap_per_locale(dev, dev_max_per_locale, config.seed),
        source=" + ".join(
            [
                data,
                *([f"lexicon {lexicon} ({adapt_mode})"] if lexicon is not None else []),
                *([f"{code_switch:.0%} of English code-switched"] if code_switch else []),
            ]
        ),
        segmentation=segmentation,
        slot_values=slot_values,
        anchor_sources=anchor_sources,
        lexicons=adaptation.lexicons if adaptation is not None and extend_vocabulary else {},
    )
    trainer.fit(training_data, resume=resume)
    console.print(
        f"Trained [bold]{model}[/] on {len(examples):,} utterances from "
        f"{len({e.locale for e in examples})} locale(s) "
        f"in {time.perf_counter() - started:.1f} s → [bold]{output}[/]"
    )


def _code_switch(
    examples: list[Example], backbone: str, share: float, seed: int, show_progress: bool
) -> list[Example]:
    """``share`` of the English examples in place of their code-switched copies."""
    from polynlu.augment.code_switch import CodeSwitchSettings, code_switched
    from polynlu.data.lexicons import ENGLISH
    from polynlu.models.backbones.registry import load_backbone

    english = [example for example in examples if example.locale in ENGLISH]
    settings = CodeSwitchSettings(seed=seed)
    encoder = load_backbone(backbone, show_progress=show_progress)
    switched = code_switched(english, encoder, settings, show_progress=show_progress)
    console.print(
        f"Code-switched {share:.0%} of the {len(english):,} English utterances: translations "
        f"for {len(switched.lexicon.entries):,} words found in {backbone}'s vocabulary, "
        f"{switched.swapped:.0%} of the words of a switched utterance swapped"
    )
    mixed = iter(switched.in_place_of(english, share, seed))
    return [next(mixed) if example.locale in ENGLISH else example for example in examples]


def _adapt(
    examples: list[Example],
    lexicon: Path,
    available: list[str],
    targets: str | None,
    settings: AdaptSettings,
    skip_invalid: bool = False,
) -> Adaptation:
    """The English examples translated (or code-switched) with the lexicons, and a table of
    what they covered."""
    from polynlu.augment.lexicons import adapt_with_lexicons

    adaptation = adapt_with_lexicons(
        examples, lexicon, available, targets, settings, skip_invalid=skip_invalid
    )
    _report_invalid(adaptation.skipped)
    table = Table(title=f"Lexicon adaptation ({lexicon})", header_style="bold")
    switching = adaptation.swapped is not None
    columns = ("locale", *([] if switching else ["utterances"]), "English words the lexicon had")
    for column in columns:
        table.add_column(column, justify="left" if column == "locale" else "right")
    counts = Counter(example.locale for example in adaptation.examples)
    for locale, coverage in sorted(adaptation.coverage.items()):
        made = [] if switching else [f"{counts[locale]:,}"]
        table.add_row(locale, *made, f"{100 * coverage:.1f}%")
    console.print(table)
    if adaptation.swapped is not None:
        console.print(
            f"Code-switched {len(adaptation.examples):,} English utterances (trained in place "
            f"of the originals): {adaptation.swapped:.0%} of their words swapped for "
            f"translations into {len(adaptation.lexicons)} language(s)"
        )
    return adaptation


def _say_settings(what: str, settings: Any) -> None:
    """One line naming every setting a run uses, defaults included, so that a log says
    exactly what ran."""
    from dataclasses import asdict

    shown = ", ".join(f"{key} {value}" for key, value in asdict(settings).items())
    console.print(f"{what}: {escape(shown)}", highlight=False)


@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="A saved model folder.")],
    data: DataOption,
    output: Annotated[Path, typer.Option(help="Folder for metrics.json, predictions and report.")],
    split: Annotated[
        str, typer.Option(help="Partition to score (data without partitions: all of it).")
    ] = "dev",
    locales: Annotated[str, typer.Option(help="'all' or a comma-separated list.")] = "all",
    format: FormatOption = None,
    data_locale: DataLocaleOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Utterances per model call.")] = 256,
    lexicon: ReadingLexicon = None,
    skip_invalid: SkipInvalid = False,
    show_progress: ShowProgress = True,
) -> None:
    """Score a model with MASSIVE's metrics (exact match, intent accuracy, slot F1), per
    locale and language group."""
    from polynlu import NLU, __version__
    from polynlu.evaluation.chunking import chunking_for
    from polynlu.evaluation.evaluate import evaluate as run_evaluation
    from polynlu.evaluation.report import locale_table, write_report

    _check_writable(output)  # before the scoring, not after it
    nlu = NLU.load(model, lexicon=lexicon)
    source = DataSource(data, format, data_locale)
    _, examples, segmentation, partitioned, *_ = _read(
        source, locales, split, skip_invalid=skip_invalid, show_progress=show_progress
    )
    scored = split if partitioned else f"all {len(examples):,} utterances (no partitions)"
    console.print(f"Evaluating {model} ({nlu.model.config().description}) on {scored}")
    started = time.perf_counter()
    meta = {
        "model": str(model),
        "model_name": model.name,
        "model_kind": nlu.model.kind,
        "train_locales": nlu.model.train_locales,
        "data": data,
        "split": split,
        "examples": len(examples),
        "lexicon": str(lexicon) if lexicon else None,
        "polynlu_version": __version__,
    }
    # MASSIVE's official reading of annotations applies to its own words only.
    result = run_evaluation(
        nlu,
        examples,
        batch_size=batch_size,
        show_progress=show_progress,
        official=chunking_for(segmentation) == "official",
    )
    result.meta = {**meta, "seconds": round(time.perf_counter() - started, 1)}
    paths = write_report(result, output)
    console.print(locale_table(result, title=f"{model.name} on {split} (%)"))
    console.print("Wrote " + ", ".join(str(p) for p in paths.values()))


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".polynlu-write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise PolynluError(f"cannot write the report to {folder}: {error.strerror}") from error


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
    ] = DEFAULT_OUT_OF_SCOPE_THRESHOLD,
    check_max_per_locale: Annotated[
        int | None, typer.Option(min=1, help="Check on at most this many utterances a locale.")
    ] = None,
    format: FormatOption = None,
    data_locale: DataLocaleOption = None,
    skip_invalid: SkipInvalid = False,
    show_progress: ShowProgress = True,
) -> None:
    """Fit a temperature to the intent confidences (and set the out-of-scope threshold).

    Fitting on the training locales' dev data keeps zero-shot locales unseen, as in training.
    """
    from polynlu.data.massive import cap_per_locale
    from polynlu.evaluation.evaluate import calibrate_model
    from polynlu.models.base import load_model

    source = DataSource(data, format, data_locale)
    loaded = load_model(model)
    chosen_locales = ",".join(loaded.train_locales) if locales == "train" else locales
    fit_locales, examples, *_ = _read(
        source, chosen_locales, split, skip_invalid=skip_invalid, show_progress=show_progress
    )
    check, check_description = None, None
    if check_locales:
        checked, check_examples, *_ = _read(
            source, check_locales, split, skip_invalid=skip_invalid, show_progress=show_progress
        )
        check = cap_per_locale(check_examples, check_max_per_locale)
        check_description = {"locales": checked}
    loaded.calibration = calibrate_model(
        loaded,
        examples,
        check=check,
        out_of_scope_threshold=out_of_scope_threshold,
        description={"data": data, "split": split, "locales": fit_locales},
        check_description=check_description,
        show_progress=show_progress,
    )
    loaded.save_config(model)
    console.print(_calibration_table(loaded.calibration, model.name, split))
    console.print(f"Saved the calibration in {model}")


def _calibration_table(calibration: Calibration, name: str, split: str) -> Table:
    """The fit (and the check) that ``calibrate_model`` recorded, as a table."""
    report = calibration.fitted_on or {}
    table = Table(title=f"Intent calibration of {name} (temperature {calibration.temperature:.3f})")
    for column in ("data", "utterances", "ECE before", "ECE after", "accuracy", "out of scope"):
        table.add_column(column, justify="left" if column == "data" else "right")
    locales = report.get("locales", [])
    table.add_row(
        f"fit: {split} " + (",".join(locales) if len(locales) <= 3 else f"{len(locales)} locales"),
        f"{report['utterances']:,}",
        f"{report['before']['ece']:.3f}",
        f"{report['after']['ece']:.3f}",
        f"{report['after']['accuracy']:.3f}",
        f"{report['after']['out_of_scope_rate']:.1%}",
    )
    check = report.get("check")
    if check:
        table.add_row(
            f"check: {split} {len(check['locales'])} locales",
            f"{check['utterances']:,}",
            f"{check['ece_before']:.3f}",
            f"{check['ece_after']:.3f}",
            f"{check['accuracy']:.3f}",
            f"{check['out_of_scope_rate']:.1%}",
        )
    return table


def _own_and_unlabelled(
    source: DataSource,
    model: JointModel,
    unlabeled_locales: str,
    skip_invalid: bool,
    show_progress: bool,
) -> tuple[list[Example], list[Example], list[Example]]:
    """For distilling and self-training: the gold train and dev utterances of ``model``'s own
    locales, and the train utterances of ``unlabeled_locales`` outside them, whose labels
    the trainer never reads."""
    own = ",".join(model.train_locales)
    labelled, dev = (
        _read(source, own, split, skip_invalid=skip_invalid, show_progress=show_progress).examples
        for split in ("train", "dev")
    )
    pool = _read(
        source, unlabeled_locales, "train", skip_invalid=skip_invalid, show_progress=show_progress
    ).examples
    return labelled, dev, [e for e in pool if e.locale not in model.train_locales]


@app.command()
def distill(
    teacher: Annotated[Path, typer.Option(help="The trained joint model to learn from.")],
    data: DataOption,
    output: Annotated[Path, typer.Option(help="Folder for the student model.")],
    unlabeled_locales: Annotated[
        str, typer.Option(help="Locales whose train utterances (labels ignored) it learns on.")
    ] = "all",
    unlabeled_per_locale: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="At most this many unlabelled utterances a locale "
            f"[default: {DISTILL.unlabeled_per_locale}].",
        ),
    ] = None,
    layers: Annotated[
        int | None,
        typer.Option(min=1, help=f"Student encoder layers [default: {StudentSettings.layers}]."),
    ] = None,
    hidden: Annotated[
        int | None, typer.Option(min=32, help="Student width [default: the teacher's].")
    ] = None,
    vocab_size: Annotated[
        int | None,
        typer.Option(
            min=16,
            help=f"Sub-words kept, the most frequent [default: {StudentSettings.vocab_size}].",
        ),
    ] = None,
    start_from: Annotated[
        Path | None,
        typer.Option(
            help="Keep training this student (its layers and vocabulary) instead of cutting a "
            "new one from the teacher: for example on fresh unlabelled text (another --seed)."
        ),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help=f"Softening of the teacher [default: {StudentSettings.temperature}].",
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(min=1, help=f"Training epochs [default: {DISTILL.training.epochs}]."),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, help=f"Utterances per step [default: {DISTILL.training.batch_size}]."),
    ] = None,
    learning_rate: Annotated[
        float | None,
        typer.Option(help=f"Encoder learning rate [default: {DISTILL.training.learning_rate}]."),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(help=f"auto, cpu or cuda [default: {DISTILL.training.device}]."),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue from OUTPUT/checkpoint.")] = False,
    seed: Annotated[int | None, typer.Option(help="Random seed [default: 0].")] = None,
    fresh_rounds: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Then this many 1-epoch rounds, each on another sample of unlabelled text "
            f"[default: {DISTILL.fresh_rounds}].",
        ),
    ] = None,
    skip_invalid: SkipInvalid = False,
    show_progress: ShowProgress = True,
) -> None:
    """Distil a teacher into a smaller student: pruned vocabulary, fewer layers, trained on
    the teacher's soft labels for unlabelled utterances of every chosen locale, plus the gold
    labels of the teacher's training locales."""
    shape = {"layers": layers, "hidden": hidden, "vocab_size": vocab_size}
    if start_from is not None and any(value is not None for value in shape.values()):
        options = ", ".join("--" + k.replace("_", "-") for k, v in shape.items() if v is not None)
        raise PolynluError(
            f"{options} cannot change a student given with --start-from ({start_from}); "
            "it keeps its own shape"
        )
    # PyTorch and transformers take seconds to import: after the options are checked.
    from polynlu.models.base import load_model
    from polynlu.models.joint import JointModel
    from polynlu.training import TrainingData
    from polynlu.training.distill import distill as distill_student
    from polynlu.training.trainer import resolve_device

    config = with_options(
        DISTILL,
        unlabeled_per_locale=unlabeled_per_locale,
        fresh_rounds=fresh_rounds,
        student=with_options(
            DISTILL.student,
            **shape,
            temperature=temperature,
            start_from=None if start_from is None else str(start_from),
        ),
        training=with_options(
            DISTILL.training,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            device=device,
            seed=seed,
        ),
    )
    loaded = load_model(teacher)
    if not isinstance(loaded, JointModel):
        raise PolynluError(f"{teacher} is a {loaded.kind} model; the teacher must be a joint model")
    loaded.to(resolve_device(config.training.device))
    labelled, dev, pool = _own_and_unlabelled(
        DataSource(data), loaded, unlabeled_locales, skip_invalid, show_progress
    )
    labelled_locales = ",".join(loaded.train_locales)
    _say_settings("Student", config.student)
    _say_settings("Training", config.training)
    console.print(
        f"Distilling {teacher.name} ({loaded.parameter_count() / 1e6:.0f}M parameters) on "
        f"{len(labelled):,} labelled utterances ({labelled_locales}) and up to "
        f"{config.unlabeled_per_locale or 'all'} unlabelled ones a locale from "
        f"{len({example.locale for example in pool})} locales"
    )
    model = distill_student(
        config,
        output,
        teacher=loaded,
        data=TrainingData(labelled, dev, unlabelled=pool, source=data),
        show_progress=show_progress,
        resume=resume,
    )
    console.print(
        f"Saved the student ({model.parameter_count() / 1e6:.1f}M parameters, "
        f"{model.training.get('vocabulary', 0):,} sub-words) to {output}"
    )


@app.command(name="self-train")
def self_train(
    model: Annotated[Path, typer.Argument(help="The trained joint model to keep training.")],
    data: DataOption,
    output: Annotated[Path, typer.Option(help="Folder for the self-trained model.")],
    unlabeled_locales: Annotated[
        str,
        typer.Option(
            help="Locales whose train utterances (labels never read) it learns on; the "
            "model's own training locales are left out."
        ),
    ] = "all",
    unlabeled_per_locale: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"At most this many unlabelled utterances a locale "
            f"[default: {SELF_TRAINING_PER_LOCALE}].",
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(min=1, help=f"Training epochs [default: {SELF_TRAINING_EPOCHS}]."),
    ] = None,
    learning_rate: Annotated[
        float | None,
        typer.Option(help=f"Encoder learning rate [default: {SELF_TRAINING_LEARNING_RATE}]."),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option(
            min=0.1, help=f"Softening of its own answers [default: {StudentSettings.temperature}]."
        ),
    ] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda [default: auto].")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from OUTPUT/checkpoint.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    skip_invalid: SkipInvalid = False,
    show_progress: ShowProgress = True,
) -> None:
    """Self-training on unlabelled text: the model keeps learning from its own softened
    intents and slots for utterances of other locales (their labels never read), and from
    the gold labels of its training locales. On MASSIVE, 200 utterances a locale added 1.5
    exact match to the en-US model over the 51 other locales, 2.1 after code-switching
    (docs/results.md)."""
    from polynlu.models.base import load_model
    from polynlu.models.joint import JointModel
    from polynlu.training import TrainingData
    from polynlu.training.distill import distill as distill_student
    from polynlu.training.trainer import resolve_device

    loaded = load_model(model)
    if not isinstance(loaded, JointModel):
        raise PolynluError(f"{model} is a {loaded.kind} model; self-training needs a joint model")
    labelled, dev, unlabelled = _own_and_unlabelled(
        DataSource(data), loaded, unlabeled_locales, skip_invalid, show_progress
    )
    labelled_locales = ",".join(loaded.train_locales)
    if not unlabelled:
        raise PolynluError(
            f"no unlabelled utterances: {unlabeled_locales!r} has no train utterances outside "
            f"the model's own locales ({labelled_locales})"
        )
    recipe = self_training(model, labelled, seed=seed)
    config = with_options(
        recipe,
        unlabeled_per_locale=unlabeled_per_locale,
        student=with_options(recipe.student, temperature=temperature),
        training=with_options(
            recipe.training, epochs=epochs, learning_rate=learning_rate, device=device
        ),
    )
    loaded.to(resolve_device(config.training.device))
    _say_settings("Training", config.training)
    console.print(
        f"Self-training {model.name} on {len(labelled):,} labelled utterances "
        f"({labelled_locales}) and up to {config.unlabeled_per_locale or 'all'} unlabelled ones "
        f"a locale from {len({e.locale for e in unlabelled})} locales"
    )
    distill_student(
        config,
        output,
        teacher=loaded,
        data=TrainingData(labelled, dev, unlabelled=unlabelled, source=data),
        show_progress=show_progress,
        resume=resume,
    )
    console.print(f"Saved the self-trained model to {output}")


@app.command()
def export(
    model: Annotated[Path, typer.Argument(help="A trained joint model folder.")],
    output: Annotated[Path, typer.Option(help="Folder for the exported model.")],
    format: Annotated[
        str, typer.Option("--format", help=f"Export format: {EXPORT_FORMATS.summaries()}.")
    ] = EXPORT_FORMATS.names()[0],
    quantize: Annotated[
        str | None,
        typer.Option(help=f"ONNX quantization: {ONNX_QUANTIZATIONS.summaries()}."),
    ] = None,
) -> None:
    """Export a joint model for onnxruntime: NLU.load, evaluate, parse and serve take the
    folder, and run it without PyTorch."""
    from polynlu.models.base import load_model, model_size_bytes

    exporter = EXPORT_FORMATS.get(format)  # a clear error before the model loads
    loaded = load_model(model)
    with console.status(
        f"Exporting {model.name} to {format}" + (f" ({quantize})" if quantize else "")
    ):
        exported = exporter(loaded, output, quantize=quantize)
    console.print(
        f"Wrote the {exported.kind} model to {output} "
        f"({model_size_bytes(output) / 2**20:.1f} MiB with its tokenizer and config)"
    )


@app.command("extend-vocabulary")
def extend_vocabulary(
    model: Annotated[Path, typer.Argument(help="A trained joint model folder.")],
    lexicon: Annotated[
        Path,
        typer.Option(
            exists=True,
            help="A bilingual lexicon (english<TAB>translation) or a folder of en_<code>.tsv.",
        ),
    ],
    output: Annotated[Path, typer.Option(help="Folder for the extended model.")],
    skip_invalid: SkipInvalid = False,
) -> None:
    """Teach a model the words of scripts its tokenizer lacks (Tibetan, N'Ko, Tifinagh …):
    each word of a lexicon in such a script becomes a piece of the vocabulary, embedded from
    its English. No training; other text reads as before (docs/languages.md)."""
    from polynlu.data.lexicons import read_lexicons
    from polynlu.models.backbones.vocabulary import MIN_UNKNOWN_SHARE
    from polynlu.models.base import load_model
    from polynlu.models.joint import JointModel

    lexicons = read_lexicons(lexicon, skip_invalid=skip_invalid)
    _report_invalid([error for lex in lexicons.values() for error in lex.skipped])
    loaded = load_model(model)
    if not isinstance(loaded, JointModel):
        raise PolynluError(
            f"{model} is a {loaded.kind} model: extend-vocabulary needs a joint model "
            "(extend it before exporting)"
        )
    with console.status(f"Reading {len(lexicons)} lexicon(s) with {model.name}'s tokenizer"):
        extension = loaded.extend_vocabulary(lexicons)
    extended = [language for language in extension.languages if language.pieces]
    if not extended:
        most = max(language.unknown_share for language in extension.languages)
        raise PolynluError(
            f"no lexicon at {lexicon} is in a script {model}'s tokenizer lacks: at most "
            f"{most:.0%} of a lexicon's words need <unk> (a script counts as missing from "
            f"{MIN_UNKNOWN_SHARE:.0%}); there is nothing to add (read requests with --lexicon "
            "instead)"
        )
    table = Table(title=f"New pieces for {model.name} ({lexicon})", header_style="bold")
    for column in ("language", "words it spelled with <unk>", "pieces added"):
        table.add_column(column, justify="left" if column == "language" else "right")
    for language in extended:
        table.add_row(language.code, f"{language.unknown_share:.1%}", f"{language.pieces:,}")
    console.print(table)
    loaded.save(output)
    console.print(
        f"Wrote the model with {extension.added:,} new pieces "
        f"({extension.vocabulary_size:,} in all) to [bold]{output}[/]; "
        f"{len(lexicons) - len(extended)} lexicon(s) were in scripts it already had"
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
    lexicon: ReadingLexicon = None,
) -> None:
    """Interpret one utterance (or one per line from stdin with '-', as JSON lines)."""
    from polynlu import NLU

    if locale is not None and not is_locale(locale):
        raise PolynluError(f"--locale '{locale}' {LOCALE_MESSAGE}")
    if text != "-":
        problem = text_problem(text)
        if problem:
            raise PolynluError(f"the utterance {problem}")
    nlu = NLU.load(model, lexicon=lexicon)
    if text == "-":
        _parse_stream(nlu, locale)
        return
    result = nlu.parse(text, locale=locale)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    console.print(f"[dim]{escape(str(model))} ({nlu.model.config().description})", highlight=False)
    _show_interpretation(result)


def _show_interpretation(result: Interpretation) -> None:
    """The utterance with its slots coloured, the intent, and each slot's value (resolved,
    where the assistant resolved it)."""
    styles = {
        name: SLOT_STYLES[i % len(SLOT_STYLES)]
        for i, name in enumerate(dict.fromkeys(s.slot for s in result.slots))
    }
    shown = Text(result.text)
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
            f"\\[{slot.start}:{slot.end}]"
            + (f" → {escape(slot.normalized)}" if slot.normalized else "")
            + (f" ⇒ {escape(slot.resolved)}" if slot.resolved else ""),
            highlight=False,
        )
    runners_up = [a for a in result.alternatives if a.intent != result.intent][:2]
    if runners_up:
        console.print(
            "  [dim]else: "
            + ", ".join(f"{escape(a.intent)} ({a.confidence:.2f})" for a in runners_up),
            highlight=False,
        )


def _parse_stream(nlu: NLU, locale: str | None) -> None:
    """One JSON line out for every line in, in order: the interpretation, or an error object
    ``{"line": N, "error": "..."}`` for a line that cannot be parsed (not UTF-8, too long,
    blank, control characters), and the stream goes on."""
    from polynlu.text.validation import MAX_LINE_BYTES, read_lines

    for line in read_lines(sys.stdin.buffer, max_bytes=MAX_LINE_BYTES):
        problem = line.problem or text_problem(line.text or "")
        if problem:
            record: dict[str, Any] = {"line": line.number, "error": f"the line {problem}"}
        else:
            record = nlu.parse(line.text or "", locale=locale).to_dict()
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()


@app.command()
def transcribe(
    audio: Annotated[Path, typer.Argument(help="A WAV, WebM or Ogg file of at most 30 s.")],
    whisper: Annotated[
        str, typer.Option(help="Whisper size: base ships with polynlu; others download.")
    ] = "base",
    language: Annotated[
        str | None, typer.Option(help="The spoken language (de), else identified from the audio.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Speech to text with Whisper (faster-whisper), and the language spoken."""
    from polynlu.assistant.asr import SpeechRecognizer
    from polynlu.assistant.audio import decode

    clip = decode(_read_file(audio))
    transcript = SpeechRecognizer(whisper).transcribe(clip.samples, language=language)
    if as_json:
        sys.stdout.write(json.dumps(asdict(transcript), ensure_ascii=False) + "\n")
        return
    console.print(escape(transcript.text), highlight=False)
    console.print(
        f"[dim]{transcript.language} ({transcript.language_probability:.2f}) · "
        f"{transcript.audio_seconds:.1f} s of audio in {transcript.seconds:.2f} s",
        highlight=False,
    )


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise PolynluError(f"cannot read {path}: {error.strerror}") from error


@app.command()
def assistant(
    model: Annotated[Path, typer.Argument(help="A saved model folder (the NLU).")],
    request: Annotated[
        str | None,
        typer.Argument(
            help="A typed request, or a WAV/WebM/Ogg file; none: read requests line by line."
        ),
    ] = None,
    locale: Annotated[
        str | None, typer.Option(help="The requests' locale (else told from text or speech).")
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(help="A DuckDB file for alarms, lists and lights (else forgotten on exit)."),
    ] = None,
    reply_audio: Annotated[
        Path | None,
        typer.Option(help="Write the spoken reply here (WAV; with several requests, the last)."),
    ] = None,
    speak: Annotated[bool, typer.Option(help="Speak the replies (espeak-ng).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The voice assistant in the terminal: a typed request or a recording → transcript,
    interpretation, skill, reply text and reply speech."""
    from polynlu.assistant import Assistant, AssistantSettings

    if locale is not None and not is_locale(locale):
        raise PolynluError(f"--locale '{locale}' {LOCALE_MESSAGE}")
    helper = Assistant.load(
        model,
        AssistantSettings(
            state=str(state) if state else ":memory:", speak=speak or reply_audio is not None
        ),
    )
    requests = [request] if request is not None else _typed_requests()
    for line in requests:
        candidate = Path(line)
        if candidate.suffix.lower() in (".wav", ".webm", ".ogg") and candidate.is_file():
            turn = helper.handle_audio(_read_file(candidate), locale)
        else:
            problem = text_problem(line)
            if problem:
                errors.print(f"[red]the request {problem}", highlight=False)
                continue
            turn = helper.handle_text(line, locale)
        if reply_audio is not None and turn.audio:
            reply_audio.write_bytes(turn.audio)
        _show_turn(turn, as_json)
    helper.close()


def _typed_requests() -> Iterator[str]:
    if sys.stdin.isatty():
        console.print("[dim]Type a request (or a .wav path); Ctrl-D to stop.")
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def _show_turn(turn: Turn, as_json: bool) -> None:
    if as_json:
        record = {
            "transcript": asdict(turn.transcript) if turn.transcript else None,
            "interpretation": turn.interpretation.to_dict(),
            "skill": turn.skill,
            "done": turn.done,
            "reply_text": turn.reply.text,
            "reply_language": turn.reply.language,
            "reply_fallback": turn.reply.fallback,
            "reply_voice": turn.voice,
            "reply_silent": turn.silent,
            "timings_ms": turn.timings_ms,
        }
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    if turn.transcript is not None:
        console.print(
            f"[dim]heard ({turn.transcript.language}, "
            f"{turn.transcript.language_probability:.2f}):[/] {escape(turn.transcript.text)}",
            highlight=False,
        )
    _show_interpretation(turn.interpretation)
    note = " [dim](English: no replies in this language yet)[/]" if turn.reply.fallback else ""
    console.print(
        f"[bold]{escape(turn.skill)}[/] → {escape(turn.reply.text)}{note}", highlight=False
    )
    if turn.silent:
        console.print(f"[yellow]not spoken: {escape(turn.silent)}", highlight=False)
    console.print(
        "[dim]" + " · ".join(f"{stage} {ms:.0f} ms" for stage, ms in turn.timings_ms.items()),
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
    max_text_chars: Annotated[
        int | None,
        typer.Option(
            min=1, help=f"Longest utterance accepted [default: {ServeSettings.max_text_chars}]."
        ),
    ] = None,
    max_batch_items: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Most items in one /v1/parse/batch request "
            f"[default: {ServeSettings.max_batch_items}].",
        ),
    ] = None,
    max_body_bytes: Annotated[
        int | None,
        typer.Option(
            min=64, help=f"Largest request body [default: {ServeSettings.max_body_bytes}]."
        ),
    ] = None,
    micro_batch: Annotated[
        int | None,
        typer.Option(
            min=1, help=f"Most utterances in one model call [default: {ServeSettings.micro_batch}]."
        ),
    ] = None,
    micro_batch_wait_ms: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="How long a request waits to share a model call "
            f"[default: {ServeSettings.micro_batch_wait_ms}].",
        ),
    ] = None,
    out_of_scope_threshold: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Override the model's out-of-scope threshold."),
    ] = None,
    header_timeout: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Seconds a connection has to send a whole request head "
            f"[default: {ServeSettings.header_timeout_s}].",
        ),
    ] = None,
    body_timeout: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help=f"Seconds a request body has to arrive [default: {ServeSettings.body_timeout_s}].",
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Open connections per worker; past it an idle one is closed, or the new one "
            "gets 503 "
            f"[default: {ServeSettings.max_connections}].",
        ),
    ] = None,
    shutdown_timeout: Annotated[
        float | None,
        typer.Option(
            min=1.0,
            help="Seconds in-flight requests get on SIGTERM "
            f"[default: {ServeSettings.shutdown_timeout_s}].",
        ),
    ] = None,
    accept_examples: Annotated[
        bool,
        typer.Option(
            help="Let POST /v1/intents/{name}/examples teach the model, saving into its folder "
            "(one worker only)."
        ),
    ] = False,
    log: Annotated[
        Path | None,
        typer.Option(
            help="Record every request and feedback in this DuckDB file, for `polynlu learn` "
            "(one worker only)."
        ),
    ] = None,
    log_text: Annotated[
        bool, typer.Option(help="Keep the requests' text in the log (else only its hash).")
    ] = True,
    log_retention_days: Annotated[
        float | None,
        typer.Option(min=0.0, help="Delete logged rows older than this many days."),
    ] = None,
    assistant: Annotated[
        bool,
        typer.Option(help="Serve the voice assistant: POST /v1/assistant and the page at /."),
    ] = True,
    assistant_state: Annotated[
        Path | None,
        typer.Option(
            help="A DuckDB file for the assistant's alarms, lists and lights (one "
            "worker only; else kept in memory)."
        ),
    ] = None,
    max_audio_bytes: Annotated[
        int | None,
        typer.Option(
            min=1024, help=f"Largest audio upload [default: {ServeSettings.max_audio_bytes}]."
        ),
    ] = None,
    max_audio_seconds: Annotated[
        float | None,
        typer.Option(
            min=1.0,
            max=30.0,
            help=f"Longest audio request [default: {ServeSettings.max_audio_seconds}].",
        ),
    ] = None,
    speak: Annotated[bool, typer.Option(help="Answer assistant requests with speech too.")] = True,
    lexicon: ReadingLexicon = None,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Serve the model over HTTP: POST /v1/parse, /v1/parse/batch, /v1/feedback,
    /v1/intents/{name}/examples; GET /v1/health, /v1/model, /metrics; OpenAPI at /docs."""
    from polynlu.models.base import read_model_config
    from polynlu.serving.server import run_server

    config = read_model_config(model)  # a clear error now, rather than one per worker
    if accept_examples and workers > 1:
        raise PolynluError(
            "--accept-examples needs --workers 1: each worker holds its own copy of the model, "
            "and examples added to one would not reach the others"
        )
    if log is not None and workers > 1:
        raise PolynluError("--log needs --workers 1: a DuckDB file takes one writing process")
    if assistant_state is not None and workers > 1:
        raise PolynluError(
            "--assistant-state needs --workers 1: a DuckDB file takes one writing process"
        )
    settings = with_options(
        ServeSettings(model=str(model.resolve())),
        max_text_chars=max_text_chars,
        max_batch_items=max_batch_items,
        max_body_bytes=max_body_bytes,
        micro_batch=micro_batch,
        micro_batch_wait_ms=micro_batch_wait_ms,
        out_of_scope_threshold=out_of_scope_threshold,
        header_timeout_s=header_timeout,
        body_timeout_s=body_timeout,
        max_connections=max_connections,
        shutdown_timeout_s=shutdown_timeout,
        accept_examples=accept_examples,
        log=str(log.resolve()) if log is not None else None,
        log_text=log_text,
        log_retention_days=log_retention_days,
        assistant=assistant,
        assistant_state=str(assistant_state.resolve()) if assistant_state else None,
        max_audio_bytes=max_audio_bytes,
        max_audio_seconds=max_audio_seconds,
        speak=speak,
        lexicon=str(lexicon.resolve()) if lexicon is not None else None,
        # Workers × threads beyond the cores only adds contention.
        threads=threads or max(1, _usable_cores() // workers),
    )
    _say_settings(f"Serving {model} ({config.description}, {workers} worker(s))", settings)
    run_server(settings, host=host, port=port, workers=workers, log_level=log_level)


@app.command()
def learn(
    log: Annotated[Path, typer.Option(help="The interaction log `polynlu serve --log` wrote.")],
    model: Annotated[Path, typer.Option(help="The model that served the logged traffic.")],
    output: Annotated[Path, typer.Option(help="A new folder for the model with its rewrites.")],
    since: Annotated[
        datetime | None,
        typer.Option(help="Learn only from requests at or after this time (ISO 8601, UTC)."),
    ] = None,
    min_support: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Users who must have taken a rephrase for it to become a rewrite "
            f"[default: {LearnSettings.min_support}].",
        ),
    ] = None,
    cluster_similarity: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Cosine at which two utterances read alike are one state "
            f"[default: {LearnSettings.cluster_similarity}].",
        ),
    ] = None,
    show_progress: ShowProgress = True,
) -> None:
    """Learn from use: find the utterances users had to rephrase, the rephrases that worked
    (an absorbing Markov chain over sessions), and write a model that rewrites the first
    into the second, pseudo-labelled training data and a report."""
    from polynlu.learning.round import learn_round

    settings = with_options(
        LearnSettings(), min_support=min_support, cluster_similarity=cluster_similarity
    )
    _say_settings(f"Learning from {log} for {model}", settings)
    started = time.perf_counter()
    result = learn_round(
        log,
        model,
        output,
        since=since.replace(tzinfo=since.tzinfo or timezone.utc) if since else None,
        settings=settings,
        show_progress=show_progress,
    )
    table = Table(title=f"Learned from {log.name}", show_header=False)
    for name, value in result.learned.counts.items():
        table.add_row(name, f"{value:,}")
    console.print(table)
    top = sorted(result.learned.rewrites, key=lambda r: (-r.support, r.source))[:10]
    if top:
        rewrites = Table(title="Top rewrites")
        for column in ("utterance", "rewrite", "P(success)", "support"):
            rewrites.add_column(column)
        for rewrite in top:
            rewrites.add_row(
                escape(rewrite.source),
                escape(rewrite.target),
                f"{rewrite.probability:.2f}",
                str(rewrite.support),
            )
        console.print(rewrites)
    console.print(
        f"Saved the model with {len(result.table):,} rewrite(s) in {output} "
        f"({time.perf_counter() - started:.0f} s); report: {result.report}"
        + (f"; pseudo-labelled data: {result.data}" if result.data else "")
    )


@app.command()
def project(
    output: Annotated[Path, typer.Option(help="A new folder for the MASSIVE-format files.")],
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="MASSIVE (a tarball, a folder, or 'massive'), parallel by id: the source "
            "locale's labels go onto the other locales' utterances.",
        ),
    ] = None,
    pairs: Annotated[
        Path | None,
        typer.Option(
            help="Your own translations instead of --data: a TSV file with the header "
            "intent<TAB>source<TAB>translation[<TAB>locale], the source annotated as "
            "'wake me at [time : five am]'.",
        ),
    ] = None,
    source_locale: Annotated[
        str, typer.Option(help="The labelled locale whose labels are projected.")
    ] = "en-US",
    target_locales: Annotated[
        str,
        typer.Option(
            help="'all' or a comma-separated list of the data's locales; with --pairs, the "
            "one locale of translations whose row names none."
        ),
    ] = "all",
    splits: Annotated[str, typer.Option(help="The partitions to project.")] = "train,dev",
    max_per_locale: Annotated[
        int | None,
        typer.Option(
            min=1, help="At most this many source utterances (the same for every target)."
        ),
    ] = None,
    backbone: Annotated[
        str, typer.Option(help="The multilingual encoder that aligns words.")
    ] = "multilingual-e5-small",
    layer: Annotated[
        int | None,
        typer.Option(
            min=0, help=f"Its layer whose states align [default: {ProjectSettings.layer}]."
        ),
    ] = None,
    method: Annotated[
        str | None,
        typer.Option(
            help="'argmax' (mutual best words), 'itermax' (then the leftovers) or 'grow' "
            f"(then leftovers join their neighbours' partners) [default: {ProjectSettings.method}]."
        ),
    ] = None,
    show_progress: ShowProgress = True,
) -> None:
    """Labels for translations: each translation of a source utterance gets the source's
    intent, and its slots move to the aligned words. From MASSIVE (parallel by id; the
    targets' own annotations are never read) or your own pairs file. Writes data `polynlu
    train` takes."""
    from polynlu.augment.projection import ALIGN_METHODS, project_massive, project_pairs
    from polynlu.data import MassiveData, parse_locale_list

    if (data is None) == (pairs is None):
        given = "both were" if data is not None else "neither was"
        raise PolynluError(f"give --data (MASSIVE) or --pairs (your translations): {given} given")
    if method is not None and method not in ALIGN_METHODS:
        raise PolynluError(f"--method {method!r}: choose {', '.join(ALIGN_METHODS)}")
    settings = with_options(ProjectSettings(), layer=layer, method=method)
    started = time.perf_counter()
    if pairs is not None:
        if not is_locale(source_locale):
            raise PolynluError(f"--source-locale '{source_locale}' {LOCALE_MESSAGE}")
        target = None if target_locales == "all" else target_locales
        if target is not None and not is_locale(target):
            raise PolynluError(
                f"--target-locales '{target}': with --pairs, one locale code (the rows "
                "without a locale column's value)"
            )
        _say_settings(f"Projecting {source_locale} labels from {pairs}", settings)
        run = project_pairs(
            pairs,
            output,
            source_locale=source_locale,
            target_locale=target,
            backbone=backbone,
            settings=settings,
            show_progress=show_progress,
        )
    else:
        assert data is not None
        massive = MassiveData(data)
        source = parse_locale_list(source_locale, massive.locales)[0]
        targets = parse_locale_list(target_locales, massive.locales)
        _say_settings(f"Projecting {source} labels onto {len(targets)} locale(s)", settings)
        run = project_massive(
            massive,
            output,
            source_locale=source,
            target_locales=targets,
            partitions=[split.strip() for split in splits.split(",") if split.strip()],
            max_per_locale=max_per_locale,
            backbone=backbone,
            settings=settings,
            show_progress=show_progress,
        )
    kept = run.projection.slots - run.projection.dropped
    console.print(
        f"Wrote {sum(run.counts.values()):,} examples in {len(run.counts)} locale(s) to {output} "
        f"({time.perf_counter() - started:.0f} s): {kept:,} of {run.projection.slots:,} source "
        f"slots projected, {run.projection.dropped:,} dropped (no aligned word, or overlapped)"
    )
    if run.projection.failed:
        _report_invalid(run.projection.failed)


def _usable_cores() -> int:
    import os

    if hasattr(os, "sched_getaffinity"):  # Linux: the cores this process may run on
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _log_to_console() -> None:
    """Library code logs through ``logging``; the command shows the ``polynlu`` logger's
    records on the console, as plain lines."""
    handler = RichHandler(
        console=console, show_time=False, show_level=False, show_path=False, markup=False
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("polynlu")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


def main() -> None:
    _log_to_console()
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
