"""From a model's scores to an ``Interpretation``: the one decoding every model kind shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from polynlu.models.calibration import Calibration
from polynlu.text.segmentation import Word
from polynlu.text.spans import spans_from_labels
from polynlu.types import IntentScore, Interpretation, Slot

ALTERNATIVES = 5


@dataclass(frozen=True)
class UtteranceScores:
    """What a model says about one utterance, before decoding.

    ``intent_probs``: one row over the model's intents; ``word_probs``: one row per word
    (``words``, the benchmark's word units) over the model's slot labels.
    """

    words: Sequence[Word]
    intent_probs: np.ndarray
    word_probs: np.ndarray
    intents: Sequence[str] | None = None
    """The names of ``intent_probs``' columns when they are not the model's trained intents
    (a model with added intents scores them after those)."""


def interpret(
    text: str,
    locale: str | None,
    scores: UtteranceScores,
    intents: Sequence[str],
    slot_labels: Sequence[str],
    calibration: Calibration,
) -> Interpretation:
    """Each word takes its most likely label; runs of equal labels are slots, whose
    confidence is the mean of their words' label probabilities. The intent confidence is the
    calibrated probability."""
    words = scores.words
    intent_probs = calibration.apply(scores.intent_probs)
    intents = scores.intents or intents
    best = int(intent_probs.argmax())
    word_probs = scores.word_probs[: len(words)]
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
        out_of_scope=bool(intent_probs[best] < calibration.out_of_scope_threshold),
    )
