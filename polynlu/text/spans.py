"""Word labels ⇄ character spans.

Models predict one label per word; users and the API want slots as character spans. The
benchmark's convention is that a run of adjacent words with the same label is one slot, so
the two views convert losslessly in both directions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from polynlu.text.segmentation import Word

OUTSIDE = "Other"
"""MASSIVE's label for a word outside every slot."""


@dataclass(frozen=True)
class Span:
    """A labelled character span ``[start, end)`` of an utterance."""

    label: str
    start: int
    end: int


def spans_from_labels(words: Sequence[Word], labels: Sequence[str]) -> list[Span]:
    """Merge runs of equal non-outside labels into spans that cover their words."""
    if len(words) != len(labels):
        raise ValueError(f"{len(words)} words but {len(labels)} labels")
    spans: list[Span] = []
    previous = OUTSIDE
    for word, label in zip(words, labels, strict=True):
        if label != OUTSIDE and label == previous:
            last = spans[-1]
            spans[-1] = Span(last.label, last.start, word.end)
        elif label != OUTSIDE:
            spans.append(Span(label, word.start, word.end))
        previous = label
    return spans


def labels_from_spans(words: Sequence[Word], spans: Sequence[Span]) -> list[str]:
    """Label each word with the span that covers its first character (``Other`` if none)."""
    labels = [OUTSIDE] * len(words)
    ordered = sorted(spans, key=lambda span: span.start)
    current = 0
    for index, word in enumerate(words):
        while current < len(ordered) and ordered[current].end <= word.start:
            current += 1
        if current < len(ordered) and ordered[current].start <= word.start:
            labels[index] = ordered[current].label
    return labels
