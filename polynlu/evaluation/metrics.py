"""MASSIVE's official metrics, reproduced exactly (``src/massive/utils/training_utils.py``).

- intent accuracy: the fraction of utterances whose intent is right;
- slot micro-F1: seqeval's ``f1_score`` over word-level BIO tags made from *runs of equal
  labels* (so two adjacent slots of one type merge into one, in gold and prediction alike);
- exact match: the intent is right and the whole BIO sequence is equal.

A predicted label sequence shorter or longer than the gold one is padded with ``Other`` or
truncated to the gold length before any of this.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from seqeval.metrics import f1_score

from polynlu.text.spans import OUTSIDE


def to_bio(labels: Sequence[str], outside: str = OUTSIDE) -> list[str]:
    """``['city', 'city', 'Other', 'date']`` → ``['B-city', 'I-city', 'O', 'B-date']``."""
    tags: list[str] = []
    previous: str | None = None
    for label in labels:
        if label == outside:
            tags.append("O")
        elif label == previous:
            tags.append(f"I-{label}")
        else:
            tags.append(f"B-{label}")
        previous = label
    return tags


def fit_to_gold(predicted: Sequence[str], gold_length: int, pad: str = OUTSIDE) -> list[str]:
    """Pad with ``pad`` or truncate ``predicted`` to the gold sequence's length."""
    fitted = list(predicted[:gold_length])
    return fitted + [pad] * (gold_length - len(fitted))


def _slot_f1(gold_bio: list[list[str]], predicted_bio: list[list[str]]) -> float:
    # With no slot in gold nor prediction seqeval returns 0.0 (as the official code does)
    # and warns; the warning is noise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(f1_score(gold_bio, predicted_bio))


@dataclass(frozen=True)
class Scores:
    exact_match: float
    intent_acc: float
    slot_f1: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "exact_match": self.exact_match,
            "intent_acc": self.intent_acc,
            "slot_f1": self.slot_f1,
            "n": self.n,
        }


def compute_scores(
    gold_intents: Sequence[str],
    predicted_intents: Sequence[str],
    gold_labels: Sequence[Sequence[str]],
    predicted_labels: Sequence[Sequence[str]],
) -> Scores:
    """Score one set of utterances (one locale, or a pool of them) the official way."""
    n = len(gold_intents)
    if not n == len(predicted_intents) == len(gold_labels) == len(predicted_labels):
        raise ValueError("gold and predicted sequences must have one entry per utterance")
    if n == 0:
        raise ValueError("cannot score an empty set of utterances")
    gold_bio = [to_bio(labels) for labels in gold_labels]
    predicted_bio = [
        to_bio(fit_to_gold(predicted, len(gold)))
        for predicted, gold in zip(predicted_labels, gold_labels, strict=True)
    ]
    intent_right = [g == p for g, p in zip(gold_intents, predicted_intents, strict=True)]
    exact = sum(
        right and g == p for right, g, p in zip(intent_right, gold_bio, predicted_bio, strict=True)
    )
    return Scores(
        exact_match=exact / n,
        intent_acc=sum(intent_right) / n,
        slot_f1=_slot_f1(gold_bio, predicted_bio),
        n=n,
    )
