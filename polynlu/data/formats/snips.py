"""Snips NLU JSON: a dataset (``language``, ``intents`` → ``utterances`` → ``data`` chunks whose
``entity``/``slot_name`` mark slots, ``entities`` with values and synonyms), or a file of the
2017 benchmark (``{"IntentName": [{"data": [...]}, ...]}``), read as it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from polynlu.data.example import DataSet, Example, example_from_spans
from polynlu.data.formats import DataFormat, skip_or_raise
from polynlu.data.locales import massive_locales
from polynlu.errors import DataError
from polynlu.text.spans import Span


def decode(raw: bytes, file: Path) -> str:
    """UTF-8, also when a character beyond the BMP was written as two encoded surrogates
    (CESU-8, as one file of the 2017 benchmark has it): the pair is joined back into the
    character. A lone surrogate is an error that names its byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "surrogatepass")
    joined = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if "\ufffd" in joined and "\ufffd" not in text:
        at = next(i for i, c in enumerate(text) if 0xD800 <= ord(c) <= 0xDFFF)
        line = text.count("\n", 0, at) + 1
        raise DataError(f"an unpaired surrogate at character {at}", file=file, line=line)
    return joined


def locale_of(language: str | None, given: str | None) -> str:
    """``locale=`` if given; else the first MASSIVE locale of the file's language code."""
    if given:
        return given
    code = (language or "en").lower()
    if "-" in code:
        return code
    for locale in massive_locales():
        if locale.split("-")[0] == code:
            return locale
    return code


def read(path: Path, *, locale: str | None = None, skip_invalid: bool = False) -> DataSet:
    try:
        raw = json.loads(decode(path.read_bytes(), path))
    except json.JSONDecodeError as error:
        raise DataError(f"invalid JSON: {error.msg}", file=path, line=error.lineno) from None
    data = DataSet([], "snips", str(path))
    if isinstance(raw, dict) and isinstance(raw.get("intents"), dict):
        chosen = locale_of(raw.get("language"), locale)
        for intent, body in raw["intents"].items():
            utterances = body.get("utterances", []) if isinstance(body, dict) else None
            where = f"intents.{intent}.utterances"
            _add(data, path, intent, utterances, where, chosen, skip_invalid)
        for entity, spec in (raw.get("entities") or {}).items():
            _read_entity(data, entity, spec)
    elif isinstance(raw, dict) and raw and all(isinstance(v, list) for v in raw.values()):
        chosen = locale_of(None, locale)
        for intent, utterances in raw.items():  # the 2017 benchmark's per-intent files
            _add(data, path, intent, utterances, intent, chosen, skip_invalid)
    else:
        raise DataError("neither a Snips dataset nor a Snips benchmark file", file=path)
    return data


def _add(
    data: DataSet,
    file: Path,
    intent: str,
    utterances: Any,
    where: str,
    locale: str,
    skip_invalid: bool,
) -> None:
    if not isinstance(utterances, list):
        raise DataError("expected a list of utterances", file=file, field=where)
    for index, utterance in enumerate(utterances):
        field = f"{where}[{index}]"
        try:
            data.examples.append(_example(utterance, intent, locale, f"{intent}-{index}"))
        except DataError as error:
            located = DataError(error.reason, file=file, field=f"{field}.{error.field or 'data'}")
            skip_or_raise(data, located, skip_invalid)


def _example(utterance: Any, intent: str, locale: str, id: str) -> Example:
    chunks = utterance.get("data") if isinstance(utterance, dict) else None
    if not isinstance(chunks, list):
        raise DataError('expected {"data": [chunks]}', field="data")
    text: list[str] = []
    spans: list[Span] = []
    length = 0
    for index, chunk in enumerate(chunks):
        if not isinstance(chunk, dict) or not isinstance(chunk.get("text"), str):
            raise DataError("a chunk needs a 'text' string", field=f"data[{index}]")
        piece = chunk["text"]
        slot = chunk.get("slot_name") or chunk.get("entity")
        if slot:
            # A slot's surrounding spaces belong to the text around it, not to its value.
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece.rstrip())
            if trail > lead:
                spans.append(Span(str(slot), length + lead, length + trail))
        text.append(piece)
        length += len(piece)
    return example_from_spans(id=id, locale=locale, intent=intent, utt="".join(text), spans=spans)


def _read_entity(data: DataSet, entity: str, spec: Any) -> None:
    values = spec.get("data", []) if isinstance(spec, dict) else []
    for value in values:
        if isinstance(value, str):
            data.lookups.setdefault(entity, []).append(value)
        elif isinstance(value, dict) and isinstance(value.get("value"), str):
            data.lookups.setdefault(entity, []).append(value["value"])
            synonyms = [s for s in value.get("synonyms", []) if isinstance(s, str)]
            if synonyms:
                data.synonyms.setdefault(entity, {})[value["value"]] = synonyms


def write(data: DataSet, path: Path) -> list[str]:
    losses = []
    if data.partitioned:
        losses.append("train/dev/test partitions (a Snips dataset has none; all are written)")
    if data.regexes:
        losses.append(f"{len(data.regexes)} regex feature(s)")
    locales = data.locales or ["en-US"]
    for locale in locales:
        target = path if len(locales) == 1 else path.with_name(f"{path.stem}.{locale}.json")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(_dataset(data, locale), ensure_ascii=False, indent=1), "utf-8")
    if len(locales) > 1:
        losses.append(f"one file for {len(locales)} locales: a Snips dataset has one language")
    return losses


def _dataset(data: DataSet, locale: str) -> dict[str, Any]:
    intents: dict[str, Any] = {}
    for example in data.examples:
        if example.locale != locale:
            continue
        chunks, position = [], 0
        for span in example.slots:
            if span.start > position:
                chunks.append({"text": example.utt[position : span.start]})
            chunks.append(
                {
                    "text": example.utt[span.start : span.end],
                    "entity": span.label,
                    "slot_name": span.label,
                }
            )
            position = span.end
        if position < len(example.utt):
            chunks.append({"text": example.utt[position:]})
        intents.setdefault(example.intent, {"utterances": []})["utterances"].append(
            {"data": chunks}
        )
    entities: dict[str, Any] = {}
    for slot in sorted({span.label for e in data.examples for span in e.slots} | set(data.lookups)):
        table = data.synonyms.get(slot, {})
        values = list(dict.fromkeys([*data.lookups.get(slot, []), *table]))
        entities[slot] = {
            "data": [{"value": value, "synonyms": table.get(value, [])} for value in values],
            "use_synonyms": True,
            "automatically_extensible": True,
            "matching_strictness": 1.0,
        }
    return {"language": locale.split("-")[0], "intents": intents, "entities": entities}


def detect(path: Path) -> bool:
    if not path.is_file() or path.suffix != ".json":
        return False
    try:
        raw = json.loads(decode(path.read_bytes(), path))
    except (json.JSONDecodeError, DataError, OSError):
        return False
    return isinstance(raw, dict) and (
        isinstance(raw.get("intents"), dict)
        or (bool(raw) and all(isinstance(v, list) for v in raw.values()))
    )


FORMAT = DataFormat("snips", "Snips NLU JSON dataset or 2017 benchmark file", read, write, detect)
