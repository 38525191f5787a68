"""Confidence calibration: temperature scaling of intent probabilities, and out-of-scope.

Fine-tuned classifiers are over-confident: an intent said with 0.95 is right less often than
95% of the time. One temperature ``T``, fitted on held-out data by minimising the negative
log-likelihood (Guo et al., 2017), turns probabilities ``p`` into ``p**(1/T)`` renormalised,
which equals ``softmax(logits / T)``: the ranking never changes, only the confidence. An
utterance whose calibrated confidence falls below ``out_of_scope_threshold`` is flagged
``out_of_scope``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import softmax

DEFAULT_OUT_OF_SCOPE_THRESHOLD = 0.5
"""Below 0.5 a calibrated intent is more likely wrong than right."""
ECE_BINS = 15


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    out_of_scope_threshold: float = DEFAULT_OUT_OF_SCOPE_THRESHOLD
    fitted_on: dict[str, Any] | None = None
    """What the temperature was fitted on, and the calibration error before and after."""

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        """Temperature-scale probability rows (last axis sums to one)."""
        if self.temperature == 1.0:
            return probabilities
        return _scaled(probabilities, self.temperature)

    def to_config(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> Calibration:
        return cls(**config) if config else cls()


def _scaled(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    result: np.ndarray = softmax(np.log(np.clip(probabilities, 1e-12, None)) / temperature, axis=-1)
    return result


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, 1e-12, None)).mean())


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> float:
    """Mean |accuracy − confidence| over equal-width confidence bins, weighted by bin size."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels``."""
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(_scaled(probabilities, np.exp(log_t)), labels),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
    )
    return float(np.exp(result.x))


def _summary(
    probabilities: np.ndarray, labels: np.ndarray, out_of_scope_threshold: float
) -> dict[str, Any]:
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    flagged = confidence < out_of_scope_threshold
    return {
        "ece": round(expected_calibration_error(probabilities, labels), 4),
        "nll": round(negative_log_likelihood(probabilities, labels), 4),
        "mean_confidence": round(float(confidence.mean()), 4),
        "accuracy": round(float(correct.mean()), 4),
        "out_of_scope_rate": round(float(flagged.mean()), 4),
        "accuracy_in_scope": round(float(correct[~flagged].mean()), 4)
        if (~flagged).any()
        else None,
        "accuracy_out_of_scope": round(float(correct[flagged].mean()), 4)
        if flagged.any()
        else None,
    }


def calibrate(
    probabilities: np.ndarray,
    labels: np.ndarray,
    *,
    out_of_scope_threshold: float = DEFAULT_OUT_OF_SCOPE_THRESHOLD,
    description: dict[str, Any] | None = None,
) -> Calibration:
    """Fit the temperature and record how it changes the calibration error and the
    out-of-scope flag on this data."""
    temperature = fit_temperature(probabilities, labels)
    scaled = _scaled(probabilities, temperature)
    report: dict[str, Any] = {**(description or {}), "utterances": len(labels)}
    report["before"] = _summary(probabilities, labels, out_of_scope_threshold)
    report["after"] = _summary(scaled, labels, out_of_scope_threshold)
    return Calibration(round(temperature, 4), out_of_scope_threshold, report)


def with_check(
    calibration: Calibration,
    probabilities: np.ndarray,
    labels: np.ndarray,
    description: dict[str, Any] | None = None,
) -> Calibration:
    """``calibration`` with its effect on other data recorded under ``fitted_on["check"]``
    (for instance the zero-shot locales, which the fit must not see)."""
    before = _summary(probabilities, labels, calibration.out_of_scope_threshold)
    after = _summary(calibration.apply(probabilities), labels, calibration.out_of_scope_threshold)
    check = {
        **(description or {}),
        "utterances": len(labels),
        "ece_before": before["ece"],
        "ece_after": after["ece"],
        "accuracy": after["accuracy"],
        "out_of_scope_rate": after["out_of_scope_rate"],
    }
    return replace(calibration, fitted_on={**(calibration.fitted_on or {}), "check": check})
