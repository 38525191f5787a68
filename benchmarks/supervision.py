"""Accuracy by what the user has in each new language: one row per rung of supervision.

    python benchmarks/supervision.py                          # every rung: many hours on 2 cores
    python benchmarks/supervision.py --rungs zero-shot,projected --per-locale 200 \
        --dev-per-locale 100
    python benchmarks/supervision.py --rungs full --per-locale 11514 --device cuda   # full data

A team adding languages to an English assistant has, in each new language, nothing,
unlabelled utterances, translations of its training utterances without labels, or labelled
data. Every rung trains the joint model with the zero-shot recipe (``TrainConfig``'s
defaults) on all of en-US train plus what that rung has of the 51 other locales: the same
``--per-locale`` MASSIVE train ids in every locale and every rung (MASSIVE is parallel by
id), so the rungs differ in the kind of supervision alone.

- ``zero-shot``: en-US labels alone.
- ``code-switched``: en-US labels, ``--code-switch-share`` of the en-US utterances trained
  code-switched instead (words swapped for their nearest words in other languages, found in
  the encoder's own vocabulary: CoSDA-ML with translations induced from the encoder, nothing
  of the other locales read); as many utterances as ``zero-shot``, so it costs the same.
- ``unlabelled``: self-training. The zero-shot model keeps training on its own soft labels
  for the other locales' utterances (their labels never read) and on en-US gold: the
  distillation loss with the teacher as its own student (``DistillTrainer``, ``start_from``).
- ``code-switched+unlabelled``: the same self-training, from the code-switched model.
- ``projected``: en-US labels projected onto the other locales' utterances as translations
  (``polynlu project``: their gold never read), trained with en-US.
- ``full``: the other locales' own gold labels.

Every rung selects its epoch on en-US dev only: the rungs below ``full`` have no labels in
the target languages, and ``full`` does the same so that only the training data differs.
Scored on all of en-US dev and on the 51 other locales' dev: all of it, or the same
``--dev-per-locale`` ids in each (a quarter of an hour a model for all of it on 2 cores).

Rows are written to benchmarks/results/supervision.json (or ``--name``) as each rung ends,
each with its own commit, machine, command and times. A run keeps the rows an earlier run
with the same ``--per-locale`` and ``--dev-per-locale`` wrote, and replaces those it runs
again, so rungs can run in different sessions and on different machines. Models stay in
``--output/<rung>``; an interrupted rung resumes there, and a finished one is not retrained.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from common import (
    STARTED,
    dev_sample,
    earlier_result,
    gpu_name,
    log_to_console,
    write_result,
)
from rich.console import Console
from rich.table import Table

from polynlu import NLU
from polynlu.augment.code_switch import CodeSwitchSettings, code_switched
from polynlu.augment.projection import WordAligner, massive_pairs, project
from polynlu.data import MassiveData
from polynlu.data.example import Example
from polynlu.evaluation.evaluate import METRICS, evaluate, mean_scores
from polynlu.models.backbones.registry import load_backbone
from polynlu.models.base import load_model
from polynlu.models.joint import JointModel
from polynlu.options import add_arguments, options_for, with_options
from polynlu.training import TrainingData
from polynlu.training.config import (
    SELF_TRAINING_EPOCHS,
    SELF_TRAINING_LEARNING_RATE,
    DistillConfig,
    StudentSettings,
    TrainConfig,
)
from polynlu.training.distill import DistillTrainer
from polynlu.training.trainer import CHECKPOINT_FOLDER, JointTrainer

SHARED = (
    Path(__file__).resolve().parents[2] / "shared/data/amazon-massive-dataset-1.1-traindev.tar.gz"
)
ENGLISH = "en-US"


@dataclass(frozen=True)
class Rung:
    what: str
    """What the user has in the other locales, as the table shows it."""
    teacher: str | None = None
    """The rung whose model self-trains into this one, if it self-trains."""


RUNGS = {
    "zero-shot": Rung("nothing (en-US labels only)"),
    "code-switched": Rung("nothing (en-US labels, some code-switched)"),
    "unlabelled": Rung("unlabelled utterances (self-training)", teacher="zero-shot"),
    "code-switched+unlabelled": Rung(
        "unlabelled utterances (self-training from code-switched)", teacher="code-switched"
    ),
    "projected": Rung("translations, labels projected"),
    "full": Rung("labelled utterances"),
}

PUBLISHED = {
    "XLM-R base, zero-shot (MASSIVE paper, test)": {
        "exact_match": 38.7,
        "intent_acc": 70.6,
        "slot_f1": 50.3,
    },
    "classical per-locale pipeline, full data (test)": {"exact_match": 58.9},
    "XLM-R base, full data (MASSIVE paper, test)": {"exact_match": 63.7},
    "mT5-base, full data (MASSIVE paper, test)": {"exact_match": 66.6},
}
"""Reference lines printed beside the rows: published test-split figures, averaged over the
51 non-English locales (zero-shot) or all 52 (full data), not measured here."""


class Ladder:
    """The data every rung draws on, and the models the rungs train into ``output``."""

    def __init__(self, args: argparse.Namespace, config: TrainConfig) -> None:
        self.args = args
        self.config = config
        self.output: Path = args.output
        self.data = MassiveData(args.data)
        self.english = self.data.read([ENGLISH], "train").examples
        self.english_dev = self.data.read([ENGLISH], "dev", show_progress=False).examples
        self.targets = [locale for locale in self.data.locales if locale != ENGLISH]
        # The same ids in every locale: those ``massive_pairs`` pairs with their translations.
        sources, self.pairs = massive_pairs(
            self.data, ENGLISH, self.targets, ["train"], max_per_locale=args.per_locale
        )
        self.ids = {example.id for example in sources}
        self._models: dict[str, tuple[JointModel, dict[str, Any]]] = {}

    @cached_property
    def target_examples(self) -> list[Example]:
        """The other locales' train rows of the chosen ids, gold labels included: only the
        ``full`` rung may learn from their labels (the self-training rungs read their text).
        Read once, however many rungs use them."""
        chosen: list[Example] = []
        for locale in self.targets:  # a locale at a time: all 51 at once are 587,000 rows
            rows = self.data.read([locale], "train", show_progress=False).examples
            chosen += [example for example in rows if example.id in self.ids]
        return chosen

    def model(self, rung: str) -> tuple[JointModel, dict[str, Any]]:
        """The rung's model (trained now, resumed, or found finished) and how it was made,
        with ``train_seconds``: this run's time plus the epochs an earlier run trained."""
        if rung not in self._models:
            teacher_rung = RUNGS[rung].teacher
            # The teacher is trained first if need be, and not timed as this rung.
            teacher = None if teacher_rung is None else (teacher_rung, self._teacher(teacher_rung))
            earlier = _epoch_seconds(self.output / rung)
            started = time.perf_counter()
            if teacher is None:
                model, made = self._train(rung)
            else:
                model, made = self._self_train(
                    teacher[1], self.output / teacher[0], self.output / rung
                )
            made["train_seconds"] = round(earlier + time.perf_counter() - started, 1)
            self._models[rung] = model, made
        return self._models[rung]

    def _teacher(self, rung: str) -> JointModel:
        """The model a self-training rung starts from. One that had finished is loaded as it
        is, without making its data again (finding code-switched words or projecting takes
        minutes)."""
        state = _trainer_state(self.output / rung)
        if rung in self._models or not state.get("finished"):
            return self.model(rung)[0]
        finished = load_model(self.output / rung)
        assert isinstance(finished, JointModel)
        return finished

    def _train(self, rung: str) -> tuple[JointModel, dict[str, Any]]:
        folder = self.output / rung
        english = self.english
        extra: list[Example] = []
        made: dict[str, Any] = {}
        if rung == "projected":
            aligner = WordAligner(load_backbone(self.config.backbone, show_progress=False))
            projection = project(self.pairs, aligner)
            extra = projection.examples
            made = {
                "projected_slots": projection.slots,
                "dropped_slots": projection.dropped,
                "unreadable_translations": len(projection.failed),
            }
        elif rung == "code-switched":
            settings = CodeSwitchSettings(rate=self.args.code_switch_rate)
            switched = code_switched(
                self.english, load_backbone(self.config.backbone, show_progress=False), settings
            )
            english = switched.in_place_of(self.english, self.args.code_switch_share, settings.seed)
            folder.mkdir(parents=True, exist_ok=True)
            switched.lexicon.write(folder / "code-switch-lexicon.tsv")
            made = {
                "code_switch": asdict(settings),
                "code_switched_share": self.args.code_switch_share,
                "induced_words": len(switched.lexicon.entries),
                "swapped_words": round(switched.swapped, 3),
            }
        elif rung == "full":
            extra = self.target_examples
        train = [*english, *extra]
        model = JointTrainer(self.config, folder).fit(
            TrainingData(train, self.english_dev, source=self.args.data), resume=True
        )
        return model, {"train_utterances": len(train), "config": asdict(self.config), **made}

    def _self_train(
        self, teacher: JointModel, teacher_folder: Path, folder: Path
    ) -> tuple[JointModel, dict[str, Any]]:
        config = DistillConfig(
            student=StudentSettings(start_from=str(teacher_folder)),
            training=replace(
                self.config,
                epochs=self.args.self_training_epochs,
                learning_rate=self.args.self_training_learning_rate,
            ),
            unlabeled_per_locale=None,  # the chosen ids already
            fresh_rounds=0,
        )
        unlabelled = self.target_examples  # DistillTrainer never reads their labels
        student = DistillTrainer(config, folder, teacher=teacher).fit(
            TrainingData(self.english, self.english_dev, unlabelled=unlabelled), resume=True
        )
        made = {
            "train_utterances": len(self.english) + len(unlabelled),
            "labelled_utterances": len(self.english),
            "config": asdict(config),
        }
        return student, made


def _trainer_state(folder: Path) -> dict[str, Any]:
    """What the trainer saved in ``folder`` (finished or interrupted); empty if nothing."""
    state = folder / CHECKPOINT_FOLDER / "trainer_state.json"
    return json.loads(state.read_text("utf-8")) if state.is_file() else {}


def _epoch_seconds(folder: Path) -> float:
    """The epochs an earlier run of this folder trained (a finished or interrupted one)."""
    return float(sum(h["seconds"] for h in _trainer_state(folder).get("history", [])))


def scores_of(result: Any) -> dict[str, dict[str, float]]:
    others = [scores for locale, scores in result.locales.items() if locale != ENGLISH]
    found = {"51_locales": mean_scores(others)}
    for locale in (ENGLISH, "ja-JP"):
        if locale in result.locales:
            found[locale] = {m: getattr(result.locales[locale], m) for m in METRICS}
    return found


def table(rows: dict[str, Any], settings: dict[str, Any]) -> Table:
    dev = settings["dev_per_locale"]
    result = Table(
        title=f"MASSIVE dev (%): exact match · intent accuracy · slot F1; {settings['per_locale']}"
        f" train ids a locale; {'all of dev' if dev is None else f'{dev} dev ids a locale'}"
    )
    for column in ("rung", "the 51 other locales have", "51 locales", "en-US", "ja-JP"):
        result.add_column(column)
    result.add_column("training", justify="right")
    result.add_column("hardware")

    def cell(scores: dict[str, float] | None) -> str:
        if not scores:
            return "–"
        return " · ".join(f"{100 * scores[m]:.1f}" for m in METRICS)

    for rung in RUNGS:
        if rung not in rows:
            continue
        row = rows[rung]
        hardware = row["machine"]["gpu"] or f"{row['machine']['cores']} CPU cores"
        result.add_row(
            rung,
            RUNGS[rung].what,
            cell(row["scores"]["51_locales"]),
            cell(row["scores"].get(ENGLISH)),
            cell(row["scores"].get("ja-JP")),
            f"{row['train_seconds'] / 60:.1f} min",
            hardware,
        )
    return result


def published_table() -> Table:
    result = Table(title="Published lines, MASSIVE test split (not measured here)")
    result.add_column("model")
    result.add_column("exact match · intent accuracy · slot F1")
    for line, figures in PUBLISHED.items():
        result.add_row(
            line, " · ".join(f"{figures[m]:.1f}" if m in figures else "–" for m in METRICS)
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(SHARED) if SHARED.exists() else "massive")
    parser.add_argument("--rungs", default=",".join(RUNGS), help=f"of {', '.join(RUNGS)}")
    parser.add_argument(
        "--per-locale", type=int, default=500, help="train ids of each other locale a rung has"
    )
    parser.add_argument(
        "--dev-per-locale", type=int, default=None, help="score this many dev ids a locale"
    )
    parser.add_argument(
        "--code-switch-rate", type=float, default=CodeSwitchSettings.rate, help="words swapped"
    )
    parser.add_argument(
        "--code-switch-share", type=float, default=0.5, help="utterances code-switched"
    )
    parser.add_argument("--self-training-epochs", type=int, default=SELF_TRAINING_EPOCHS)
    parser.add_argument(
        "--self-training-learning-rate", type=float, default=SELF_TRAINING_LEARNING_RATE
    )
    add_arguments(parser, TrainConfig)  # --epochs, --device, … over the zero-shot recipe
    parser.add_argument("--output", type=Path, default=Path("runs/supervision"))
    parser.add_argument("--name", default="supervision")
    args = parser.parse_args()
    rungs = args.rungs.split(",")
    unknown = [rung for rung in rungs if rung not in RUNGS]
    if unknown:
        parser.error(f"--rungs: {', '.join(unknown)} not among {', '.join(RUNGS)}")
    console = Console(width=160)
    log_to_console(console)
    config = with_options(TrainConfig(), **options_for(TrainConfig, args))
    settings = {"per_locale": args.per_locale, "dev_per_locale": args.dev_per_locale}
    rows: dict[str, Any] = earlier_result(args.name, settings).get("rows", {})
    _claim(args.output, {"data": args.data, "per_locale": args.per_locale})
    ladder = Ladder(args, config)
    dev = dev_sample(
        ladder.data.read(ladder.data.locales, "dev").examples, ENGLISH, args.dev_per_locale
    )
    for rung in rungs:
        console.rule(f"{rung}: {RUNGS[rung].what}")
        model, made = ladder.model(rung)
        started = time.perf_counter()
        result = evaluate(NLU(model, detect_language=False), dev, meta={"model_name": rung})
        rows[rung] = {
            "commit": STARTED["commit"],
            "dirty": STARTED["dirty"],
            "command": STARTED["command"],
            "machine": {**STARTED["machine"], "gpu": gpu_name()},
            "best_epoch": model.training.get("best_epoch"),
            "history": model.training.get("history"),
            **made,
            "eval_seconds": round(time.perf_counter() - started, 1),
            "dev_utterances": len(dev),
            "scores": scores_of(result),
            "locales": {loc: s.as_dict() for loc, s in result.locales.items()},
        }
        path = write_result(
            args.name,
            {"benchmark": "supervision", **settings, "rows": rows, "published_test": PUBLISHED},
        )
        console.print(table(rows, settings))
        console.print(f"Wrote {path}")
    console.print(published_table())


def _claim(output: Path, made_with: dict[str, Any]) -> None:
    """The models in ``output`` are found and reused by rung name: refuse a folder whose
    models were trained on other data."""
    record = output / "supervision-data.json"
    if record.is_file() and json.loads(record.read_text("utf-8")) != made_with:
        raise SystemExit(f"{output} holds models trained on other data: --output another folder")
    output.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(made_with) + "\n", "utf-8")


if __name__ == "__main__":
    main()
