"""polynlu's own YAML: intents with examples per locale in MASSIVE's ``[slot : value]`` syntax,
and slot definitions with synonyms (variants normalised to a canonical value) and lookup lists.

    polynlu: 1
    locale: en-US                      # the locale of examples given without one
    intents:
      book_table:
        examples:
          en-US: |                     # one example a line (a YAML block: no quoting)
            book a table for [party_size : two] at [time : 8 pm]
          de-DE: |
            reserviere einen tisch für [party_size : zwei]
      check_balance:
        examples: |                    # no locale: the file's
          what's my balance
    slots:
      city:
        synonyms:
          New York City: [nyc, big apple]
        lookup: [paris, berlin]
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from polynlu.data.example import DataSet, Example, example_from_spans
from polynlu.data.formats import DataFormat, locale_or_default, skip_or_raise
from polynlu.data.formats.yaml_blocks import LiteralBlock, block_lines, dump
from polynlu.errors import DataError
from polynlu.text.spans import Span

VERSION = 1
_SLOT = re.compile(r"\[\s*(?P<slot>[^\]:]+?)\s*:\s*(?P<value>[^\]]+?)\s*\]")


def parse_bracketed(annotated: str) -> tuple[str, list[Span]]:
    """``wake me at [time : five am]`` → ``wake me at five am`` and the slot's span."""
    if annotated.count("[") != annotated.count("]"):
        raise DataError("unbalanced brackets", field="example")
    text: list[str] = []
    spans: list[Span] = []
    length = position = 0
    for match in _SLOT.finditer(annotated):
        before = annotated[position : match.start()]
        value = match.group("value")
        text += [before, value]
        length += len(before)
        spans.append(Span(match.group("slot"), length, length + len(value)))
        length += len(value)
        position = match.end()
    text.append(annotated[position:])
    plain = "".join(text)
    if "[" in plain or "]" in plain:
        raise DataError("a bracket that is not a [slot : value] annotation", field="example")
    return plain, spans


def bracketed(example: Example) -> str:
    pieces, position = [], 0
    for span in example.slots:
        pieces += [
            example.utt[position : span.start],
            f"[{span.label} : {example.utt[span.start : span.end]}]",
        ]
        position = span.end
    return "".join([*pieces, example.utt[position:]])


def read(path: Path, *, locale: str | None = None, skip_invalid: bool = False) -> DataSet:
    try:
        text = path.read_text("utf-8")
        root = yaml.compose(text)  # for line numbers
        raw = yaml.safe_load(text)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise DataError(f"not readable YAML: {error}", file=path) from None
    if not isinstance(raw, dict) or raw.get("polynlu") != VERSION:
        raise DataError(f"not a polynlu data file (no 'polynlu: {VERSION}')", file=path, line=1)
    default_locale = locale or locale_or_default(raw.get("locale"))
    data = DataSet([], "polynlu", str(path))
    intents_node = _child(root, "intents")
    for intent_key, intent_node in getattr(intents_node, "value", []):
        intent = str(intent_key.value)
        scenario = str(_scalar(intent_node, "scenario") or "")
        examples = _child(intent_node, "examples")
        if isinstance(examples, yaml.MappingNode):
            groups = [(str(k.value), v) for k, v in examples.value]
        elif isinstance(examples, yaml.SequenceNode | yaml.ScalarNode):
            groups = [(default_locale, examples)]
        else:
            line = intent_key.start_mark.line + 1
            raise DataError(f"intent '{intent}' has no examples", file=path, line=line)
        for group_locale, node in groups:
            for line, text in _lines(node):
                try:
                    utt, spans = parse_bracketed(text)
                    data.examples.append(
                        example_from_spans(
                            id=f"{path.name}:{line}",
                            locale=group_locale,
                            intent=intent,
                            utt=utt,
                            spans=spans,
                            scenario=scenario,
                        )
                    )
                except DataError as error:
                    skip_or_raise(data, error.located(file=path, line=line), skip_invalid)
    for slot, spec in (raw.get("slots") or {}).items():
        spec = spec or {}
        if spec.get("synonyms"):
            data.synonyms[str(slot)] = {
                str(k): [str(v) for v in vs] for k, vs in spec["synonyms"].items()
            }
        if spec.get("lookup"):
            data.lookups[str(slot)] = [str(v) for v in spec["lookup"]]
    data.regexes = {str(k): [str(v) for v in vs] for k, vs in (raw.get("regexes") or {}).items()}
    return data


def _lines(node: Any) -> list[tuple[int, str]]:
    """(file line, example) pairs: a block scalar holds one example a line, a list one an
    item."""
    if isinstance(node, yaml.ScalarNode):
        return [(line, text.strip()) for line, text in block_lines(node)]
    return [(item.start_mark.line + 1, str(item.value)) for item in getattr(node, "value", [])]


def _child(node: Any, key: str) -> Any:
    return next(
        (v for k, v in getattr(node, "value", []) if getattr(k, "value", None) == key), None
    )


def _scalar(node: Any, key: str) -> Any:
    child = _child(node, key)
    return child.value if isinstance(child, yaml.ScalarNode) else None


def write(data: DataSet, path: Path) -> list[str]:
    intents: dict[str, Any] = {}
    for example in data.examples:
        entry = intents.setdefault(example.intent, {})
        if example.scenario:
            entry["scenario"] = example.scenario
        entry.setdefault("examples", {}).setdefault(example.locale, []).append(bracketed(example))
    for entry in intents.values():
        entry["examples"] = {locale: _block(lines) for locale, lines in entry["examples"].items()}
    slots: dict[str, Any] = {}
    for slot, table in data.synonyms.items():
        slots.setdefault(slot or "any", {})["synonyms"] = table
    for slot, values in data.lookups.items():
        slots.setdefault(slot, {})["lookup"] = values
    document: dict[str, Any] = {"polynlu": VERSION, "intents": intents}
    if slots:
        document["slots"] = slots
    if data.regexes:
        document["regexes"] = data.regexes
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dump(document)
    path.write_text(text, "utf-8")
    return ["train/dev/test partitions (all examples are written)"] if data.partitioned else []


def _block(lines: list[str]) -> LiteralBlock | list[str]:
    # A literal block cannot hold a line with trailing spaces (YAML drops them): a list can.
    if any(line != line.strip() or "\n" in line for line in lines):
        return lines
    return LiteralBlock("\n".join(lines) + "\n")


def detect(path: Path) -> bool:
    if not path.is_file() or path.suffix not in (".yml", ".yaml"):
        return False
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError):
        return False
    return isinstance(raw, dict) and "polynlu" in raw


FORMAT = DataFormat("polynlu", "polynlu's own YAML", read, write, detect)
