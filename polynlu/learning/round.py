"""One round of learning from use, as ``polynlu learn`` runs it: a log and a model in, a new
model folder out.

The new folder is the model's, copied, with the learned rewrites in ``rewrites.json`` (which
``polynlu serve`` applies before the model) and a ``learning/`` folder: the report and the
pseudo-labelled examples in polynlu's YAML, ready to add to the next training run.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.progress import TaskID

from polynlu.data.example import DataSet
from polynlu.errors import PolynluError
from polynlu.learning.learner import Learned, LearnSettings, learn
from polynlu.learning.log import read_requests
from polynlu.learning.report import write_report
from polynlu.learning.rewrites import REWRITES_FILE, RewriteTable
from polynlu.learning.sessions import normalise
from polynlu.progress import LoggedProgress

LEARNING_FOLDER = "learning"
PSEUDO_LABELLED_FILE = "pseudo-labelled.yaml"


@dataclass(frozen=True)
class LearnRound:
    learned: Learned
    table: RewriteTable
    """The new model's rewrites: the old model's, updated by what this round learned."""
    report: Path
    data: Path | None
    """The pseudo-labelled examples, if any were made."""


def learn_round(
    log: Path,
    model: Path,
    output: Path,
    *,
    since: datetime | None = None,
    settings: LearnSettings = LearnSettings(),
    show_progress: bool = True,
) -> LearnRound:
    from polynlu.data.formats import write_data
    from polynlu.models.base import load_model

    if output.exists() and any(output.iterdir()):
        raise PolynluError(f"{output} exists and is not empty: name a new folder for the model")
    rows = read_requests(log, since=since)
    if not rows:
        raise PolynluError(f"{log} holds no requests" + (f" since {since}" if since else ""))
    loaded = load_model(model)
    with LoggedProgress(disable=not show_progress, transient=True) as progress:
        tasks: dict[str, TaskID] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        learned = learn(rows, loaded.sentence_embeddings, settings, advance=advance)

    shutil.copytree(model, output, dirs_exist_ok=True)
    previous = RewriteTable.load(model) if (model / REWRITES_FILE).is_file() else None
    kept = list(previous.rewrites.values()) if previous else []
    learned_keys = {normalise(rewrite.source) for rewrite in learned.rewrites}
    table = RewriteTable.from_rewrites(
        [*kept, *learned.rewrites],  # a later rewrite of the same utterance wins: this round's
        source={
            "log": str(log),
            "since": since.isoformat() if since else None,
            "requests": len(rows),
            "model": str(model),
            "learned": len(learned_keys),
            "kept from the model": sum(
                normalise(rewrite.source) not in learned_keys for rewrite in kept
            ),
        },
    )
    table.save(output)
    folder = output / LEARNING_FOLDER
    folder.mkdir(exist_ok=True)
    data = None
    if learned.examples:
        data = folder / PSEUDO_LABELLED_FILE
        write_data(
            DataSet(examples=list(learned.examples), format="polynlu", source=str(log)),
            data,
            "polynlu",
        )
    report = write_report(learned, folder, log=str(log), model=str(model))
    return LearnRound(learned, table, report, data)
