"""Reading MASSIVE's JSON lines into ``Example`` objects, exactly as the benchmark reads them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.progress import track

from polynlu.data.annotation import parse_annotation
from polynlu.data.example import Example
from polynlu.data.schema import Schema, massive_schema
from polynlu.data.sources import resolve_data
from polynlu.errors import DataError, MissingPartitionError, PolynluError
from polynlu.text.validation import MAX_ROW_BYTES, MAX_TEXT_CHARS, read_lines, unpaired_surrogate

PARTITIONS = ("train", "dev", "test")
_TEXT_FIELDS = ("id", "locale", "partition", "scenario", "intent", "utt", "annot_utt")


@dataclass
class ReadResult:
    examples: list[Example]
    invalid: list[DataError] = field(default_factory=list)


def _decode(line: str) -> dict[str, object]:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(f"invalid JSON: {error.msg} at column {error.colno}") from None
    if not isinstance(raw, dict):
        raise DataError(f"expected a JSON object, got {type(raw).__name__}")
    return raw


def _example_from_row(raw: dict[str, object], expected_locale: str, schema: Schema) -> Example:
    row_id = raw.get("id")
    row_id = str(row_id) if isinstance(row_id, str | int) else None
    for name in _TEXT_FIELDS:
        if name not in raw:
            raise DataError("missing field", field=name, row_id=row_id)
        if not isinstance(raw[name], str):
            raise DataError(
                f"expected a string, got {type(raw[name]).__name__}", field=name, row_id=row_id
            )
    text = {name: str(raw[name]) for name in _TEXT_FIELDS}
    for name, value in text.items():
        surrogate = unpaired_surrogate(value)
        if surrogate:
            raise DataError(surrogate.removesuffix("; send valid UTF-8"), field=name, row_id=row_id)
    if len(text["utt"]) > MAX_TEXT_CHARS:
        raise DataError(
            f"has {len(text['utt']):,} characters; the limit is {MAX_TEXT_CHARS:,}",
            field="utt",
            row_id=row_id,
        )
    if text["locale"] != expected_locale:
        raise DataError(
            f"locale '{text['locale']}' differs from the file's locale '{expected_locale}'",
            field="locale",
            row_id=row_id,
        )
    if not text["utt"].strip():
        raise DataError("empty utterance", field="utt", row_id=row_id)
    # MASSIVE's label set applies to rows in MASSIVE's scenarios; a row with another (or no)
    # scenario is a user's own data in MASSIVE's format, and its labels are its own.
    own_labels = text["scenario"] not in schema.scenarios
    if not text["intent"].strip():
        raise DataError("empty intent", field="intent", row_id=row_id)
    if not own_labels and text["intent"] not in schema.intents:
        raise DataError(
            f"intent '{text['intent']}' is not in the {schema.name} label set",
            field="intent",
            row_id=row_id,
        )
    try:
        annotation = parse_annotation(
            text["utt"],
            text["annot_utt"],
            text["locale"],
            None if own_labels else schema.slot_types,
        )
    except DataError as error:
        raise DataError(error.reason, field=error.field, row_id=row_id) from None
    return Example(
        id=text["id"],
        locale=text["locale"],
        partition=text["partition"],
        scenario=text["scenario"],
        intent=text["intent"],
        utt=text["utt"],
        annot_utt=text["annot_utt"],
        words=annotation.words,
        labels=annotation.labels,
        slots=annotation.spans,
    )


def _partition_of(line: str) -> str | None:
    """The row's partition, or None where the row is not valid JSON with a string partition."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError:
        return None  # the full parse reports it
    value = raw.get("partition") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def _in_another_partition(partition: object, partitions: Sequence[str] | None) -> bool:
    return partitions is not None and isinstance(partition, str) and partition not in partitions


class MassiveData:
    """A folder of ``<locale>.jsonl`` files: the locales it has and their examples."""

    def __init__(self, spec: str | Path) -> None:
        self.spec = str(spec)
        self.folder = resolve_data(spec)
        self.files = {path.stem: path for path in sorted(self.folder.glob("*.jsonl"))}
        if not self.files:
            raise PolynluError(f"no <locale>.jsonl files in {self.folder}")

    @property
    def locales(self) -> list[str]:
        return list(self.files)

    def partition_counts(self, locale: str) -> Counter[str]:
        counts: Counter[str] = Counter()
        with self.files[locale].open("rb") as handle:
            for line in read_lines(handle, max_bytes=MAX_ROW_BYTES):
                if line.text is None or line.text.strip():
                    counts[_partition_of(line.text or "") or "?"] += 1
        return counts

    def iter_rows(
        self,
        locale: str,
        partitions: Sequence[str] | None,
        *,
        skip_invalid: bool,
        invalid: list[DataError],
        schema: Schema,
    ) -> Iterator[Example]:
        path = self.files[locale]
        try:
            handle = path.open("rb")
        except OSError as error:
            raise PolynluError(f"cannot read {path}: {error}") from error
        first_line_of: dict[str, int] = {}
        with handle:
            for line in read_lines(handle, max_bytes=MAX_ROW_BYTES):
                if line.text is not None and not line.text.strip():
                    continue
                try:
                    if line.text is None:
                        raise DataError(f"the row {line.problem}")
                    raw = _decode(line.text)
                    partition = raw.get("partition")
                    # Rows of other partitions are not validated (reading dev must not fail on
                    # a bad train row); a row without a valid partition falls through and fails.
                    if _in_another_partition(partition, partitions):
                        continue
                    example = _example_from_row(raw, locale, schema)
                    if example.id in first_line_of:
                        raise DataError(
                            f"duplicate id: line {first_line_of[example.id]} has it too",
                            field="id",
                            row_id=example.id,
                        )
                    first_line_of[example.id] = line.number
                except DataError as error:
                    located = error.located(file=path, line=line.number)
                    if not skip_invalid:
                        raise located from None
                    invalid.append(located)
                    continue
                yield example

    def read(
        self,
        locales: Iterable[str],
        partitions: str | Sequence[str] | None,
        *,
        skip_invalid: bool = False,
        schema: Schema | None = None,
        show_progress: bool = True,
    ) -> ReadResult:
        """Read ``partitions`` (``None`` for all) of ``locales``.

        Raises ``MissingPartitionError`` when a requested partition has no rows in a locale,
        and ``DataError`` on the first bad row unless ``skip_invalid`` is set.
        """
        wanted = [partitions] if isinstance(partitions, str) else partitions
        schema = schema or massive_schema()
        locales = list(locales)
        result = ReadResult(examples=[])
        description = f"Reading {'+'.join(wanted) if wanted else 'all'} ({len(locales)} locales)"
        for locale in track(locales, description=description, disable=not show_progress):
            if locale not in self.files:
                raise PolynluError(f"locale '{locale}' is not in {self.folder}")
            rows = list(
                self.iter_rows(
                    locale,
                    wanted,
                    skip_invalid=skip_invalid,
                    invalid=result.invalid,
                    schema=schema,
                )
            )
            if wanted:
                present = Counter(row.partition for row in rows)
                for partition in wanted:
                    if present[partition] == 0:
                        raise _missing_partition(self, locale, partition)
            result.examples.extend(rows)
        return result


def _missing_partition(data: MassiveData, locale: str, partition: str) -> MissingPartitionError:
    counts = data.partition_counts(locale)
    has = ", ".join(f"{name} ({count})" for name, count in sorted(counts.items())) or "no rows"
    hint = (
        " MASSIVE's test partition is withheld in this copy: use --split dev."
        if partition == "test"
        else ""
    )
    return MissingPartitionError(
        f"partition '{partition}' is absent for {locale} in {data.folder} (it has {has}).{hint}"
    )


def cap_per_locale(examples: Sequence[Example], limit: int | None, seed: int = 0) -> list[Example]:
    """At most ``limit`` examples per locale, drawn at random but reproducibly."""
    if limit is None:
        return list(examples)
    import random

    by_locale: dict[str, list[Example]] = {}
    for example in examples:
        by_locale.setdefault(example.locale, []).append(example)
    chosen: list[Example] = []
    for locale in sorted(by_locale):
        rows = by_locale[locale]
        if len(rows) > limit:
            rows = random.Random(f"{seed}:{locale}").sample(rows, limit)
        chosen.extend(rows)
    return chosen
