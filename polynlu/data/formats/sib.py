"""SIB-200's layout: a folder of ``<variety>/{train,dev,test}.tsv`` (columns ``index_id``,
``category``, ``text``), varieties named by FLORES-200 codes (``quy_Latn``) and used as
locales. Sentence-level data: the category is the intent, and there are no slots.

``--data`` takes the folder holding the varieties or any folder above it (the unpacked
``sib-200`` or its ``data``); a split that is absent (SIB-200's withheld test) is simply not
there.
"""

from __future__ import annotations

import csv
from pathlib import Path

from polynlu.data.example import DataSet, example_from_spans
from polynlu.data.formats import DataFormat, skip_or_raise, vocabulary_losses
from polynlu.data.massive import PARTITIONS
from polynlu.errors import DataError, PolynluError
from polynlu.text.validation import MAX_ROW_BYTES, read_lines

COLUMNS = ("index_id", "category", "text")


def variety_folder(path: Path) -> Path | None:
    """The folder whose sub-folders are the varieties: ``path`` itself or one below it
    (``sib-200/`` → ``sib-200/data/``); None when neither holds any variety."""
    for candidate in (path, path / "data", path / "sib-200" / "data"):
        if candidate.is_dir() and any(
            (candidate / child.name / f"{split}.tsv").is_file()
            for child in candidate.iterdir()
            for split in PARTITIONS
        ):
            return candidate
    return None


def read(path: Path, *, locale: str | None = None, skip_invalid: bool = False) -> DataSet:
    folder = variety_folder(path)
    if folder is None:
        raise PolynluError(f"{path} holds no <variety>/train.tsv or dev.tsv: not SIB-200's layout")
    data = DataSet([], "sib", str(path), partitioned=True, segmentation="benchmark")
    for variety in sorted(child for child in folder.iterdir() if child.is_dir()):
        if locale is not None and variety.name != locale:
            continue
        for split in PARTITIONS:
            file = variety / f"{split}.tsv"
            if file.is_file():
                _read_file(file, variety.name, split, data, skip_invalid)
    return data


def _read_file(file: Path, variety: str, split: str, data: DataSet, skip_invalid: bool) -> None:
    with file.open("rb") as handle:
        lines = read_lines(handle, max_bytes=MAX_ROW_BYTES)
        header = next(lines, None)
        if header is None or header.text is None or tuple(header.text.split("\t")) != COLUMNS:
            raise DataError(f"the header is not {'<TAB>'.join(COLUMNS)}", file=file, line=1)
        for line in lines:
            try:
                if line.text is None:
                    raise DataError(f"the line {line.problem}", file=file, line=line.number)
                if not line.text.strip():
                    continue
                # One row a line; csv only to undo TSV quoting (FLORES sentences hold quotes).
                row = next(csv.reader([line.text], delimiter="\t"))
                if len(row) != len(COLUMNS):
                    raise DataError(
                        f"{len(row)} columns, expected {len(COLUMNS)} ({', '.join(COLUMNS)})",
                        file=file,
                        line=line.number,
                    )
                index_id, category, text = row
                example = example_from_spans(
                    id=index_id,
                    locale=variety,
                    intent=category,
                    utt=text,
                    spans=(),
                    partition=split,
                    segmentation="benchmark",
                )
                data.examples.append(example)
            except DataError as error:
                if error.file is None:
                    error = error.located(file=file, line=line.number)
                skip_or_raise(data, error, skip_invalid)


def write(data: DataSet, path: Path) -> list[str]:
    losses = vocabulary_losses(data)
    with_slots = sum(bool(example.slots) for example in data.examples)
    if with_slots:
        losses.append(f"the slots of {with_slots} example(s): SIB-200's rows hold none")
    for example in data.examples:
        if "\t" in example.utt or "\n" in example.utt:
            raise PolynluError(f"id={example.id}: a tab or line break cannot go in a TSV row")
    groups: dict[tuple[str, str], list[list[str]]] = {}
    for example in data.examples:
        row = [example.id, example.intent, example.utt]
        groups.setdefault((example.locale, example.partition), []).append(row)
    for (locale, split), rows in sorted(groups.items()):
        file = path / locale / f"{split}.tsv"
        file.parent.mkdir(parents=True, exist_ok=True)
        with file.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(rows)
    return losses


def detect(path: Path) -> bool:
    return path.is_dir() and variety_folder(path) is not None


FORMAT = DataFormat(
    "sib", "SIB-200's <variety>/{train,dev,test}.tsv folders (sentence topics)", read, write, detect
)
