"""From a model's scores to an ``Interpretation``: the one decoding every model kind shares."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from polynlu.text.segmentation import Word
from polynlu.text.spans import spans_from_labels
from polynlu.types import IntentScore, Interpretation, Slot

ALTERNATIVES = 5


def interpret(
    text: str,
    locale: str | None,
    words: Sequence[Word],
    intents: Sequence[str],
    intent_probs: np.ndarray,
    slot_labels: Sequence[str],
    word_probs: np.ndarray,
) -> Interpretation:
    """``intent_probs``: one row over ``intents``; ``word_probs``: one row per word over
    ``slot_labels``. Each word takes its most likely label; runs of equal labels are slots,
    whose confidence is the mean of their words' label probabilities."""
    best = int(intent_probs.argmax())
    word_probs = word_probs[: len(words)]
    labels = [slot_labels[i] for i in word_probs.argmax(-1)]
    confidences = word_probs.max(-1)
    slots = []
    for span in spans_from_labels(words, labels):
        inside = [
            float(c)
            for w, c in zip(words, confidences, strict=True)
            if span.start <= w.start < span.end
        ]
        slots.append(
            Slot(
                span.label,
                text[span.start : span.end],
                span.start,
                span.end,
                sum(inside) / len(inside),
            )
        )
    order = np.argsort(-intent_probs)[:ALTERNATIVES]
    return Interpretation(
        text=text,
        intent=intents[best],
        confidence=float(intent_probs[best]),
        slots=tuple(slots),
        locale=locale,
        alternatives=tuple(IntentScore(intents[i], float(intent_probs[i])) for i in order),
    )
