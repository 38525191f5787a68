"""MASSIVE's bracket annotations: ``wake me up at [time : five am]`` ⇄ words, labels and spans.

The parser reads ``annot_utt`` into labelled characters and aligns them with ``utt`` on their
non-space characters. That one mechanism gives exact character offsets into ``utt`` for every
locale, including ja/zh, whose ``annot_utt`` has spaces around brackets that ``utt`` lacks, and
it catches annotations whose text does not match the utterance.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from polynlu.errors import DataError
from polynlu.text.segmentation import Word, segment
from polynlu.text.spans import Span, labels_from_spans

_FIELD = "annot_utt"


@dataclass(frozen=True)
class Annotation:
    """An utterance read as the benchmark reads it."""

    words: tuple[Word, ...]
    labels: tuple[str, ...]
    """One label per word; ``Other`` outside slots."""
    spans: tuple[Span, ...]
    """The annotated slots as character spans of ``utt``, in order."""


def _scan(annot_utt: str) -> list[tuple[str, str | None]]:
    """Split ``annot_utt`` into text segments, each with its slot label (None outside slots)."""
    segments: list[tuple[str, str | None]] = []
    position = 0
    while position < len(annot_utt):
        opening = annot_utt.find("[", position)
        closing = annot_utt.find("]", position)
        if closing != -1 and (opening == -1 or closing < opening):
            raise DataError(
                f"']' at character {closing} closes no slot (unbalanced brackets)", field=_FIELD
            )
        if opening == -1:
            segments.append((annot_utt[position:], None))
            break
        segments.append((annot_utt[position:opening], None))
        if closing == -1:
            raise DataError(
                f"'[' at character {opening} is never closed (unbalanced brackets)", field=_FIELD
            )
        inner = annot_utt[opening + 1 : closing]
        bracket = annot_utt[opening : closing + 1]
        if "[" in inner:
            raise DataError(
                f"'[' at character {opening + 1 + inner.index('[')} opens a slot inside "
                f"'{bracket}' (unbalanced brackets)",
                field=_FIELD,
            )
        label, separator, value = inner.partition(":")
        label = label.strip()
        if not separator:
            raise DataError(
                f"slot '{bracket}' has no ' : ' between its label and its value", field=_FIELD
            )
        if not label or any(c.isspace() for c in label):
            raise DataError(f"slot '{bracket}' has an invalid label '{label}'", field=_FIELD)
        if not value.strip():
            raise DataError(f"slot '{bracket}' has an empty value", field=_FIELD)
        segments.append((value, label))
        position = closing + 1
    return segments


def _first_difference(left: str, right: str) -> int:
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return index
    return min(len(left), len(right))


def parse_annotation(
    utt: str,
    annot_utt: str,
    locale: str | None,
    slot_types: Collection[str] | None = None,
) -> Annotation:
    """Read ``annot_utt`` against ``utt``; raise ``DataError`` naming what is wrong."""
    segments = _scan(annot_utt)
    if slot_types is not None:
        for _, label in segments:
            if label is not None and label not in slot_types:
                raise DataError(f"slot type '{label}' is not in the label set", field=_FIELD)

    # Align on non-space characters: the k-th of annot_utt is the k-th of utt.
    squeezed = ["".join(text.split()) for text, _ in segments]
    annotated_text = "".join(squeezed)
    utt_positions = [i for i, c in enumerate(utt) if not c.isspace()]
    utt_text = "".join(utt.split())
    if annotated_text != utt_text:
        at = _first_difference(annotated_text, utt_text)
        raise DataError(
            f"text does not match 'utt': annotation reads {annotated_text[at : at + 12]!r} "
            f"where utt has {utt_text[at : at + 12]!r} (non-space character {at})",
            field=_FIELD,
        )
    spans: list[Span] = []
    consumed = 0
    for text, (_, label) in zip(squeezed, segments, strict=True):
        if label is not None:
            spans.append(
                Span(label, utt_positions[consumed], utt_positions[consumed + len(text) - 1] + 1)
            )
        consumed += len(text)

    words = segment(utt, locale)
    starts = {word.start for word in words}
    ends = {word.end for word in words}
    for span in spans:
        if span.start not in starts or span.end not in ends:
            inside = next(
                w for w in words if w.start < span.start < w.end or w.start < span.end < w.end
            )
            raise DataError(
                f"a slot boundary falls inside the word {inside.text!r}: the benchmark labels "
                "whole words",
                field=_FIELD,
            )
    return Annotation(tuple(words), tuple(labels_from_spans(words, spans)), tuple(spans))


def format_annotation(utt: str, spans: Sequence[Span]) -> str:
    """Write ``utt`` with ``spans`` in MASSIVE's bracket format.

    Brackets get a space on each side, as in MASSIVE (ja/zh included), so the result parses
    back into the same words and labels.
    """
    pieces: list[str] = []
    position = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < position:
            raise ValueError(f"overlapping spans at character {span.start}")
        pieces.append(utt[position : span.start])
        pieces.append(f" [{span.label} : {utt[span.start : span.end]}] ")
        position = span.end
    pieces.append(utt[position:])
    return " ".join("".join(pieces).split())
