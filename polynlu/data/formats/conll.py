"""CoNLL / BIO token files (xSID, MultiATIS++ style): blocks separated by blank lines, comment
lines ``# text = …``, ``# intent = …`` (also ``# id``, ``# locale``, ``# partition``), and one
token a line: ``token<TAB>tag``, or ``index<TAB>token<TAB>intent<TAB>tag`` as xSID writes it."""

from __future__ import annotations

from pathlib import Path

from polynlu.data.example import DataSet, Example, example_from_spans
from polynlu.data.formats import (
    DataFormat,
    locale_or_default,
    skip_or_raise,
    vocabulary_losses,
)
from polynlu.errors import DataError
from polynlu.text.spans import Span
from polynlu.text.validation import MAX_ROW_BYTES, read_lines

_SUFFIXES = (".conll", ".conllu", ".bio", ".iob", ".tsv", ".txt")


def read(path: Path, *, locale: str | None = None, skip_invalid: bool = False) -> DataSet:
    data = DataSet([], "conll", str(path))
    block: list[tuple[int, str]] = []
    unreadable: DataError | None = None  # a line of the block that cannot be decoded

    def finish_block() -> None:
        try:
            if unreadable is not None:
                raise unreadable
            data.examples.append(_example(path, block, locale))
        except DataError as error:
            skip_or_raise(data, error, skip_invalid)

    with path.open("rb") as handle:
        for line in read_lines(handle, max_bytes=MAX_ROW_BYTES):
            if line.text is None:
                unreadable = unreadable or DataError(
                    f"the line {line.problem}", file=path, line=line.number
                )
                block.append((line.number, ""))
            elif line.text.strip():
                block.append((line.number, line.text))
            elif block:
                finish_block()
                block, unreadable = [], None
    if block:
        finish_block()
    data.partitioned = any(example.partition != "train" for example in data.examples)
    return data


def _example(path: Path, block: list[tuple[int, str]], locale: str | None) -> Example:
    first = block[0][0]
    notes: dict[str, str] = {}
    tokens: list[tuple[int, str, str]] = []
    for number, text in block:
        if text.startswith("#"):
            key, _, value = text[1:].partition("=")
            notes[key.strip()] = value.strip()
            continue
        columns = text.split("\t") if "\t" in text else text.split()
        if len(columns) < 2:
            raise DataError("a token line needs a token and a tag", file=path, line=number)
        token, tag = (columns[1], columns[-1]) if len(columns) >= 4 else (columns[0], columns[-1])
        if len(columns) >= 4 and "intent" not in notes:
            notes["intent"] = columns[2]
        tokens.append((number, token, tag))
    if not tokens:
        raise DataError("a block with no token lines", file=path, line=first)
    utt = notes.get("text") or " ".join(token for _, token, _ in tokens)
    spans: list[Span] = []
    position = 0
    open_span: tuple[str, int, int] | None = None
    for number, token, tag in tokens:
        start = utt.find(token, position)
        if start < 0:
            raise DataError(
                f"the token {token!r} is not in the text", file=path, line=number, field="text"
            )
        end = position = start + len(token)
        kind, _, label = tag.partition("-")
        if tag == "O" or kind not in ("B", "I") or not label:
            if tag != "O":
                raise DataError(f"tag {tag!r} is neither O nor B-/I-slot", file=path, line=number)
            if open_span:
                spans.append(Span(*open_span))
            open_span = None
        elif kind == "I" and open_span and open_span[0] == label:
            open_span = (label, open_span[1], end)
        else:
            if open_span:
                spans.append(Span(*open_span))
            open_span = (label, start, end)
    if open_span:
        spans.append(Span(*open_span))
    if "intent" not in notes:
        raise DataError("no '# intent = …' line and no intent column", file=path, line=first)
    try:
        return example_from_spans(
            id=notes.get("id", f"{path.name}:{first}"),
            locale=notes.get("locale") or locale_or_default(locale),
            intent=notes["intent"],
            utt=utt,
            spans=spans,
            partition=notes.get("partition", "train"),
        )
    except DataError as error:
        raise error.located(file=path, line=first) from None


def write(data: DataSet, path: Path) -> list[str]:
    blocks = []
    for example in data.examples:
        lines = [
            f"# id = {example.id}",
            f"# locale = {example.locale}",
            f"# partition = {example.partition}",
            f"# text = {example.utt}",
            f"# intent = {example.intent}",
        ]
        for word in example.words:
            span = next((s for s in example.slots if s.start <= word.start < s.end), None)
            tag = "O" if span is None else ("B-" if word.start == span.start else "I-") + span.label
            lines.append(f"{word.text}\t{tag}")
        blocks.append("\n".join(lines))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(blocks) + "\n", "utf-8")
    return vocabulary_losses(data)


def detect(path: Path) -> bool:
    if not path.is_file() or path.suffix not in _SUFFIXES:
        return False
    with path.open("rb") as handle:
        head = handle.read(4096).decode("utf-8", "replace")
    return "# intent" in head or "\tB-" in head or "\tO\n" in head


FORMAT = DataFormat("conll", "CoNLL / BIO token lines", read, write, detect)
