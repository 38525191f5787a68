"""Run a model over labelled examples and score it per locale and per language group."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

import numpy as np

from polynlu.data.annotation import format_annotation
from polynlu.data.example import Example
from polynlu.data.locales import GROUPINGS, group_of
from polynlu.errors import PolynluError
from polynlu.evaluation.chunking import Chunking, official_labels
from polynlu.evaluation.metrics import Scores, compute_scores
from polynlu.models.base import NLUModel
from polynlu.models.calibration import (
    DEFAULT_OUT_OF_SCOPE_THRESHOLD,
    Calibration,
    calibrate,
    with_check,
)
from polynlu.nlu import NLU
from polynlu.progress import LoggedProgress
from polynlu.text.batches import map_by_length
from polynlu.text.spans import Span, labels_from_spans
from polynlu.types import Interpretation

METRICS = ("exact_match", "intent_acc", "slot_f1")


@dataclass(frozen=True)
class Prediction:
    example: Example
    interpretation: Interpretation

    @property
    def spans(self) -> list[Span]:
        return [Span(s.slot, s.start, s.end) for s in self.interpretation.slots]

    @property
    def word_labels(self) -> list[str]:
        """The prediction on the benchmark's words of the gold utterance."""
        return labels_from_spans(self.example.words, self.spans)

    def to_record(self) -> dict[str, Any]:
        interpretation = self.interpretation
        return {
            "id": self.example.id,
            "locale": self.example.locale,
            "utt": self.example.utt,
            "pred_intent": interpretation.intent,
            "confidence": round(interpretation.confidence, 6),
            "pred_slots": [
                {"slot": s.slot, "value": s.value, "start": s.start, "end": s.end}
                for s in interpretation.slots
            ],
            "pred_annot_utt": format_annotation(self.example.utt, self.spans),
        }


def mean_scores(scores: Sequence[Scores]) -> dict[str, float]:
    """Unweighted mean over locales, as MASSIVE's tables average them."""
    return {metric: fmean(getattr(s, metric) for s in scores) for metric in METRICS}


@dataclass
class EvaluationResult:
    locales: dict[str, Scores]
    """Per locale, scored the official way (MASSIVE's published figures are)."""
    predictions: list[Prediction]
    meta: dict[str, Any] = field(default_factory=dict)
    corrected: dict[str, Scores] = field(default_factory=dict)
    """Per locale, against polynlu's reading of the annotations (see ``chunking``)."""

    @property
    def scored(self) -> tuple[str, ...]:
        """The metrics that mean something here: data without any slot (SIB-200's topics)
        is scored by intent accuracy alone, since its slot F1 would be a meaningless 0."""
        return METRICS if any(p.example.slots for p in self.predictions) else ("intent_acc",)

    @property
    def average(self) -> dict[str, float]:
        return mean_scores(list(self.locales.values()))

    def groups(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Averages by language family, genus and script (from the MASSIVE locale table)."""
        result: dict[str, dict[str, dict[str, Any]]] = {}
        for grouping in GROUPINGS:
            members: dict[str, list[str]] = defaultdict(list)
            for locale in self.locales:
                members[group_of(locale, grouping)].append(locale)
            result[grouping] = {
                name: {
                    **mean_scores([self.locales[locale] for locale in locales]),
                    "locales": locales,
                }
                for name, locales in sorted(members.items())
            }
        return result

    def to_metrics(self) -> dict[str, Any]:
        return {
            "chunking": "official",
            "scored": list(self.scored),
            "average": self.average,
            "locales": {locale: s.as_dict() for locale, s in sorted(self.locales.items())},
            "groups": self.groups(),
            "corrected": {
                "chunking": "corrected: a slot ends at its ']' after ASCII text in ja/zh too",
                "average": mean_scores(list(self.corrected.values())) if self.corrected else {},
                "locales": {loc: s.as_dict() for loc, s in sorted(self.corrected.items())},
            },
            "meta": self.meta,
        }


def predict(
    nlu: NLU, examples: Sequence[Example], *, batch_size: int = 256, show_progress: bool = True
) -> list[Prediction]:
    """Parse every example; batches hold utterances of similar length (less padding for
    neural models), and the predictions come back in the examples' order."""
    with LoggedProgress(disable=not show_progress) as progress:
        task = progress.add_task("Parsing", total=len(examples))
        interpretations = map_by_length(
            examples,
            lambda batch: nlu.parse_batch([e.utt for e in batch], [e.locale for e in batch]),
            length=lambda example: len(example.utt),
            batch_size=batch_size,
            advance=lambda done: progress.advance(task, done),
        )
    return [
        Prediction(example, interpretation)
        for example, interpretation in zip(examples, interpretations, strict=True)
    ]


def score_predictions(
    predictions: Sequence[Prediction], chunking: Chunking = "official"
) -> dict[str, Scores]:
    """Scores per locale, against gold labels read the official way (the default, as
    MASSIVE's published figures are) or polynlu's ``corrected`` way (see ``chunking``)."""
    by_locale: dict[str, list[Prediction]] = defaultdict(list)
    for prediction in predictions:
        by_locale[prediction.example.locale].append(prediction)
    return {
        locale: compute_scores(
            [p.example.intent for p in items],
            [p.interpretation.intent for p in items],
            [_gold_labels(p.example, chunking) for p in items],
            [p.word_labels for p in items],
        )
        for locale, items in sorted(by_locale.items())
    }


def _gold_labels(example: Example, chunking: Chunking) -> Sequence[str]:
    if chunking == "corrected":
        return example.labels
    return official_labels(example.annot_utt, example.locale)


def evaluate(
    nlu: NLU,
    examples: Sequence[Example],
    *,
    batch_size: int = 256,
    show_progress: bool = True,
    meta: dict[str, Any] | None = None,
    official: bool = True,
) -> EvaluationResult:
    """Scores per locale; ``official=False`` for data other than MASSIVE, where the labels
    are the examples' own (MASSIVE's reading of ``annot_utt`` applies to its words only)."""
    predictions = predict(nlu, examples, batch_size=batch_size, show_progress=show_progress)
    corrected = score_predictions(predictions, "corrected")
    return EvaluationResult(
        score_predictions(predictions) if official else corrected,
        predictions,
        meta or {},
        corrected=corrected,
    )


def intent_probabilities(
    model: NLUModel,
    examples: Sequence[Example],
    *,
    batch_size: int = 256,
    show_progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Uncalibrated intent probabilities, one row per example whose intent the model knows,
    and the index of that gold intent: what calibration is fitted and checked on."""
    index = {intent: i for i, intent in enumerate(model.intents)}
    known = [e for e in examples if e.intent in index]
    with LoggedProgress(disable=not show_progress) as progress:
        task = progress.add_task("Scoring intents", total=len(known))
        rows = map_by_length(
            known,
            lambda batch: [
                s.intent_probs
                for s in model.probabilities([e.utt for e in batch], [e.locale for e in batch])
            ],
            length=lambda example: len(example.utt),
            batch_size=batch_size,
            advance=lambda done: progress.advance(task, done),
        )
    labels = np.array([index[e.intent] for e in known], dtype=np.int64)
    return (np.stack(rows) if rows else np.zeros((0, len(index)))), labels


def calibrate_model(
    model: NLUModel,
    examples: Sequence[Example],
    *,
    check: Sequence[Example] | None = None,
    out_of_scope_threshold: float = DEFAULT_OUT_OF_SCOPE_THRESHOLD,
    description: dict[str, Any] | None = None,
    check_description: dict[str, Any] | None = None,
    show_progress: bool = True,
) -> Calibration:
    """The temperature that fits ``model``'s intent confidences on ``examples``, with the
    calibration error before and after on them and, if given, on ``check`` (data the fit
    must not see, such as zero-shot locales). The model itself is left as it is."""
    probabilities, labels = intent_probabilities(model, examples, show_progress=show_progress)
    if not len(labels):
        raise PolynluError("no utterances with intents the model knows to calibrate on")
    calibration = calibrate(
        probabilities,
        labels,
        out_of_scope_threshold=out_of_scope_threshold,
        description=description,
    )
    if check:
        check_probabilities, check_labels = intent_probabilities(
            model, check, show_progress=show_progress
        )
        calibration = with_check(calibration, check_probabilities, check_labels, check_description)
    return calibration
