"""Rasa NLU training data (YAML): ``nlu:`` items with ``intent:`` and an ``examples: |`` block
of ``- text`` lines, entities marked inline as ``[value](entity)``, ``[value](entity:canonical)``
or ``[value]{"entity": "…", "value": "…"}``, and ``synonym:``, ``lookup:`` and ``regex:`` items.
A file, several, or a folder of them. Rasa files name no language: ``locale=`` gives it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from polynlu.data.example import DataSet, Example, example_from_spans
from polynlu.data.formats import DataFormat, locale_or_default, skip_or_raise
from polynlu.data.formats.yaml_blocks import LiteralBlock, block_lines, dump
from polynlu.errors import DataError
from polynlu.text.spans import Span

_ENTITY = re.compile(r"\[(?P<value>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")
_SUFFIXES = (".yml", ".yaml")


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES)
    return [path]


def _examples_block(item: yaml.MappingNode) -> tuple[list[tuple[int, str]], str | None]:
    """The ``examples`` of an item as (line, text) pairs (1-based lines), and its kind key."""
    kind = None
    lines: list[tuple[int, str]] = []
    for key, value in item.value:
        if key.value in ("intent", "synonym", "lookup", "regex"):
            kind = key.value
        if key.value != "examples":
            continue
        if isinstance(value, yaml.ScalarNode):
            lines += block_lines(value)
        elif isinstance(value, yaml.SequenceNode):  # - text: ... items
            for entry in value.value:
                text = next(
                    (v.value for k, v in getattr(entry, "value", []) if k.value == "text"),
                    getattr(entry, "value", ""),
                )
                lines.append((entry.start_mark.line + 1, f"- {text}"))
    return lines, kind


def _item_name(item: yaml.MappingNode, kind: str) -> str:
    return str(next(v.value for k, v in item.value if k.value == kind))


def parse_markup(text: str) -> tuple[str, list[tuple[str, int, int, str | None]]]:
    """``set an alarm for [5 am](time)`` → the plain text and (entity, start, end, canonical)."""
    plain: list[str] = []
    found: list[tuple[str, int, int, str | None]] = []
    position = 0
    length = 0
    for match in _ENTITY.finditer(text):
        before = text[position : match.start()]
        plain.append(before)
        length += len(before)
        value = match.group("value")
        canonical = None
        if match.group("json"):
            try:
                spec = json.loads(match.group("json"))
            except json.JSONDecodeError as error:
                raise DataError(
                    f"invalid entity JSON {match.group('json')!r}: {error.msg}"
                ) from None
            if not isinstance(spec, dict) or "entity" not in spec:
                raise DataError(f"entity JSON {match.group('json')!r} has no 'entity'")
            entity = str(spec["entity"])
            canonical = str(spec["value"]) if "value" in spec else None
        else:
            entity, _, synonym = match.group("short").partition(":")
            canonical = synonym or None
        found.append((entity.strip(), length, length + len(value), canonical))
        plain.append(value)
        length += len(value)
        position = match.end()
    plain.append(text[position:])
    return "".join(plain), found


def read(path: Path, *, locale: str | None = None, skip_invalid: bool = False) -> DataSet:
    locale = locale_or_default(locale)
    data = DataSet([], "rasa", str(path))
    for file in _files(path):
        for line, kind, name, text in _items(file):
            if isinstance(text, DataError):
                skip_or_raise(data, text, skip_invalid)
            elif kind == "synonym":
                data.synonyms.setdefault("", {}).setdefault(name, []).append(text)
            elif kind == "lookup":
                data.lookups.setdefault(name, []).append(text)
            elif kind == "regex":
                data.regexes.setdefault(name, []).append(text)
            else:
                try:
                    data.examples.append(_example(file, line, name, text, locale, data))
                except DataError as error:
                    skip_or_raise(data, error, skip_invalid)
    return data


def _items(file: Path) -> Iterator[tuple[int, str, str, str | DataError]]:
    """(line, kind, name, text) of each line of each examples block; a line that is not a
    ``- `` item comes as the error that says so, for the reader to raise or skip."""
    try:
        root = yaml.compose(file.read_text("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise DataError(f"not readable YAML: {error}", file=file) from None
    nlu = next((v for k, v in getattr(root, "value", []) if k.value == "nlu"), None)
    if not isinstance(nlu, yaml.SequenceNode):
        raise DataError("no 'nlu:' list", file=file, line=1)
    for item in nlu.value:
        if not isinstance(item, yaml.MappingNode):
            raise DataError(
                "an nlu item is not a mapping", file=file, line=item.start_mark.line + 1
            )
        lines, kind = _examples_block(item)
        if kind is None:
            continue  # a key this reader does not use (responses, stories live elsewhere)
        name = _item_name(item, kind)
        for line, raw in lines:
            text = raw.strip()
            if not text.startswith("- "):
                message = f"an example line must start with '- ': {text[:40]!r}"
                yield line, kind, name, DataError(message, file=file, line=line)
            else:
                yield line, kind, name, text[2:].strip()


def _example(file: Path, line: int, intent: str, text: str, locale: str, data: DataSet) -> Example:
    try:
        plain, entities = parse_markup(text)
        example = example_from_spans(
            id=f"{file.name}:{line}",
            locale=locale,
            intent=intent,
            utt=plain,
            spans=[Span(entity, start, end) for entity, start, end, _ in entities],
        )
    except DataError as error:
        raise error.located(file=file, line=line) from None
    # Only a row that reads keeps its synonyms: a skipped row leaves nothing behind.
    for entity, start, end, canonical in entities:
        if canonical is not None and canonical != plain[start:end]:
            variants = data.synonyms.setdefault(entity, {}).setdefault(canonical, [])
            if plain[start:end] not in variants:
                variants.append(plain[start:end])
    return example


def write(data: DataSet, path: Path) -> list[str]:
    losses = []
    if data.partitioned:
        losses.append("train/dev/test partitions (Rasa files have none; all are written)")
    locales = data.locales or ["en-US"]
    for locale in locales:
        target = (
            path
            if len(locales) == 1
            else path.with_name(f"{path.stem}.{locale}{path.suffix or '.yml'}")
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_render(data, locale), "utf-8")
    if len(locales) > 1:
        losses.append(
            f"one file for {len(locales)} locales: Rasa files name none, so one per locale"
        )
    return losses


def _render(data: DataSet, locale: str) -> str:
    synonyms_of = {
        (entity, variant): canonical
        for entity, table in data.synonyms.items()
        for canonical, variants in table.items()
        for variant in variants
    }
    items: list[dict[str, Any]] = []
    by_intent: dict[str, list[str]] = {}
    for example in data.examples:
        if example.locale != locale:
            continue
        pieces, position = [], 0
        for span in example.slots:
            value = example.utt[span.start : span.end]
            canonical = synonyms_of.get((span.label, value))
            pieces.append(example.utt[position : span.start])
            if canonical is not None:
                spec = json.dumps({"entity": span.label, "value": canonical}, ensure_ascii=False)
                pieces.append(f"[{value}]{spec}")
            else:
                pieces.append(f"[{value}]({span.label})")
            position = span.end
        pieces.append(example.utt[position:])
        by_intent.setdefault(example.intent, []).append("".join(pieces))
    items += [{"intent": name, "examples": _block(texts)} for name, texts in by_intent.items()]
    merged: dict[str, list[str]] = {}
    for table in data.synonyms.values():
        for canonical, variants in table.items():
            merged.setdefault(canonical, []).extend(
                v for v in variants if v not in merged.get(canonical, [])
            )
    items += [{"synonym": name, "examples": _block(v)} for name, v in merged.items() if v]
    items += [{"lookup": name, "examples": _block(v)} for name, v in data.lookups.items()]
    items += [{"regex": name, "examples": _block(v)} for name, v in data.regexes.items()]
    return dump({"version": "3.1", "nlu": items})


def _block(texts: list[str]) -> LiteralBlock:
    return LiteralBlock("".join(f"- {text}\n" for text in texts))


def detect(path: Path) -> bool:
    files = _files(path)
    if not files or any(f.suffix not in _SUFFIXES for f in files):
        return False
    try:
        head = yaml.safe_load(files[0].read_text("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError):
        return False
    return isinstance(head, dict) and "nlu" in head


FORMAT = DataFormat("rasa", "Rasa NLU YAML (a file, several, or a folder)", read, write, detect)
