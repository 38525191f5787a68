"""Temperature scaling and the out-of-scope flag, on numbers worked out by hand or simulated."""

from pathlib import Path

import numpy as np
import pytest
from support import TINY, fit_baseline

from polynlu import NLU
from polynlu.data import MassiveData
from polynlu.models.calibration import (
    Calibration,
    calibrate,
    expected_calibration_error,
    fit_temperature,
)
from polynlu.training.config import BaselineConfig


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    result: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return result


def test_the_fitted_temperature_undoes_a_known_over_confidence() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(20_000, 6))
    # The labels follow softmax(logits / 2): the raw softmax is over-confident by T = 2.
    truth = softmax(logits / 2.0)
    labels = np.array([rng.choice(6, p=row) for row in truth])
    assert fit_temperature(softmax(logits), labels) == pytest.approx(2.0, abs=0.1)


def test_expected_calibration_error_by_hand() -> None:
    # Ten predictions at confidence 0.9: nine right → bin error 0; all wrong → 0.9.
    probs = np.tile([0.9, 0.1], (10, 1))
    assert expected_calibration_error(probs, np.array([0] * 9 + [1])) == pytest.approx(0.0)
    assert expected_calibration_error(probs, np.ones(10, dtype=int)) == pytest.approx(0.9)
    # Two bins, each half the data: |1.0 − 0.6| and |0.0 − 0.8| → (0.4 + 0.8) / 2.
    mixed = np.array([[0.6, 0.4], [0.6, 0.4], [0.2, 0.8], [0.2, 0.8]])
    assert expected_calibration_error(mixed, np.array([0, 0, 0, 0])) == pytest.approx(0.6)


def test_scaling_keeps_the_ranking_and_equals_softmax_of_logits_over_t() -> None:
    logits = np.array([[2.0, 1.0, -1.0], [0.5, 3.0, 0.0]])
    scaled = Calibration(temperature=1.7).apply(softmax(logits))
    np.testing.assert_allclose(scaled, softmax(logits / 1.7), rtol=1e-6)
    assert (scaled.argmax(1) == logits.argmax(1)).all()


def test_calibrate_reports_before_and_after() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=4.0, size=(5_000, 4))
    labels = np.array([rng.choice(4, p=row) for row in softmax(logits / 3.0)])
    result = calibrate(softmax(logits), labels, out_of_scope_threshold=0.6)
    report = result.fitted_on
    assert report is not None and report["utterances"] == 5_000
    assert report["after"]["ece"] < report["before"]["ece"] / 2
    assert report["after"]["out_of_scope_rate"] > report["before"]["out_of_scope_rate"]
    assert result.out_of_scope_threshold == 0.6


def test_a_saved_calibration_changes_confidence_and_flags_out_of_scope(tmp_path: Path) -> None:
    data = MassiveData(TINY)
    train = data.read(["en-US"], "train", show_progress=False).examples
    model = fit_baseline(train, BaselineConfig(n_features=4096))
    raw = NLU(model).parse("wake me up at six am", "en-US")
    model.calibration = Calibration(temperature=3.0, out_of_scope_threshold=0.99)
    model.save(tmp_path / "model")
    calibrated = NLU.load(tmp_path / "model").parse("wake me up at six am", "en-US")
    assert calibrated.intent == raw.intent
    assert calibrated.confidence < raw.confidence
    assert calibrated.out_of_scope and not raw.out_of_scope
