"""MASSIVE's format: a folder (or tarball) of ``<locale>.jsonl`` files, one row an utterance
with ``annot_utt`` in ``[slot : value]`` brackets, and train/dev/test partitions."""

from __future__ import annotations

import json
from pathlib import Path

from polynlu.data.example import DataSet, Example
from polynlu.data.formats import DataFormat, vocabulary_losses
from polynlu.data.massive import MassiveData
from polynlu.data.sources import FETCHED_NAME, is_tarball
from polynlu.text.segmentation import segment


def read(path: Path, *, locale: str | None = None, skip_invalid: bool = False) -> DataSet:
    data = MassiveData(path)
    result = data.read(data.locales, None, skip_invalid=skip_invalid, show_progress=False)
    return DataSet(
        result.examples,
        "massive",
        str(path),
        partitioned=True,
        segmentation="benchmark",
        skipped=result.invalid,
    )


def write(data: DataSet, path: Path) -> list[str]:
    losses = vocabulary_losses(data)
    if data.segmentation != "benchmark":
        inside = sum(not _on_whitespace_words(example) for example in data.examples)
        if inside:
            losses.append(
                f"the exact slots of {inside} example(s): they end inside a whitespace word "
                "(before punctuation), and MASSIVE's annotations label whole whitespace words"
            )
    path.mkdir(parents=True, exist_ok=True)
    for locale in data.locales:
        rows = [
            {
                "id": example.id,
                "locale": example.locale,
                "partition": example.partition,
                "scenario": example.scenario,
                "intent": example.intent,
                "utt": example.utt,
                "annot_utt": example.annot_utt,
            }
            for example in data.examples
            if example.locale == locale
        ]
        lines = (json.dumps(row, ensure_ascii=False) for row in rows)
        (path / f"{locale}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    return losses


def _on_whitespace_words(example: Example) -> bool:
    words = segment(example.utt, example.locale)
    starts, ends = {w.start for w in words}, {w.end for w in words}
    return all(span.start in starts and span.end in ends for span in example.slots)


def detect(path: Path) -> bool:
    if str(path) == FETCHED_NAME or is_tarball(path):
        return True
    return path.is_dir() and any(path.rglob("*.jsonl"))


FORMAT = DataFormat(
    "massive", "MASSIVE JSON lines, a folder or tarball of <locale>.jsonl", read, write, detect
)
