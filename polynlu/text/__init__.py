"""Pure functions on strings: word segmentation, and words ⇄ character spans."""

from polynlu.text.segmentation import (
    CHARACTER_SEGMENTED_LOCALES,
    SEGMENTATIONS,
    Segmentation,
    Word,
    segment,
)
from polynlu.text.spans import OUTSIDE, Span, labels_from_spans, spans_from_labels

__all__ = [
    "CHARACTER_SEGMENTED_LOCALES",
    "OUTSIDE",
    "SEGMENTATIONS",
    "Segmentation",
    "Span",
    "Word",
    "labels_from_spans",
    "segment",
    "spans_from_labels",
]
