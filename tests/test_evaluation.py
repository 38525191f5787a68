import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import TINY, fit_baseline

from polynlu import NLU
from polynlu.data import MassiveData
from polynlu.evaluation.evaluate import evaluate
from polynlu.evaluation.report import write_report
from polynlu.training.config import BaselineConfig

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = MassiveData(TINY)
    train = data.read(["en-US"], "train", show_progress=False).examples
    model = fit_baseline(train, BaselineConfig(n_features=2**12))
    dev = data.read(data.locales, "dev", show_progress=False).examples
    result = evaluate(NLU(model), dev, show_progress=False, meta={"split": "dev"})
    folder = tmp_path_factory.mktemp("report")
    write_report(result, folder)
    return folder


@pytest.fixture(scope="module")
def train_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ja/zh train, where the tiny data has slots that end after ASCII text (``bruno mars]``),
    scored by a model fitted on it: the official and corrected readings differ here."""
    data = MassiveData(TINY)
    train = data.read(["ja-JP", "zh-CN"], "train", show_progress=False).examples
    result = evaluate(
        NLU(fit_baseline(train, BaselineConfig(n_features=2**12))),
        train,
        show_progress=False,
        meta={"split": "train"},
    )
    assert result.locales["ja-JP"].slot_f1 != result.corrected["ja-JP"].slot_f1
    folder = tmp_path_factory.mktemp("train-report")
    write_report(result, folder)
    return folder


def test_metrics_json_has_averages_locales_and_groups(report: Path) -> None:
    metrics = json.loads((report / "metrics.json").read_text())
    assert set(metrics["average"]) == {"exact_match", "intent_acc", "slot_f1"}
    assert set(metrics["locales"]) == {"de-DE", "en-US", "ja-JP", "zh-CN"}
    for values in metrics["locales"].values():
        assert values["n"] == 18
        assert all(0 <= values[m] <= 1 for m in ("exact_match", "intent_acc", "slot_f1"))
    families = metrics["groups"]["family"]
    assert families["Sino-Tibetan"]["locales"] == ["zh-CN"]
    assert sorted(families["Indo-European"]["locales"]) == ["de-DE", "en-US"]
    assert set(metrics["groups"]) == {"family", "genus", "script", "pretraining"}
    assert sorted(metrics["groups"]["pretraining"]["seen"]["locales"]) == sorted(metrics["locales"])
    mean = sum(v["intent_acc"] for v in metrics["locales"].values()) / 4
    assert metrics["average"]["intent_acc"] == pytest.approx(mean)


def test_predictions_have_the_documented_fields(report: Path) -> None:
    rows = [json.loads(line) for line in (report / "predictions.jsonl").open()]
    assert len(rows) == 72
    for row in rows:
        assert {"id", "locale", "utt", "pred_intent", "pred_slots", "pred_annot_utt"} <= set(row)
        for slot in row["pred_slots"]:
            assert row["utt"][slot["start"] : slot["end"]] == slot["value"]


def test_report_and_chart_are_written(report: Path) -> None:
    text = (report / "report.md").read_text()
    assert "## By family" in text and "| zh-CN | Mandarin | 18 |" in text
    assert (report / "exact_match_by_locale.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
@pytest.mark.parametrize("chunking", ["official", "corrected"])
@pytest.mark.parametrize("split", ["dev", "train"])
def test_an_independent_scorer_agrees_to_four_decimals(
    report: Path, train_report: Path, chunking: str, split: str
) -> None:
    folder = report if split == "dev" else train_report
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "massive_score.py"),
            "--data",
            str(TINY),
            "--predictions",
            str(folder / "predictions.jsonl"),
            "--metrics",
            str(folder / "metrics.json"),
            "--chunking",
            chunking,
            "--split",
            split,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "agree to 4 decimals" in completed.stdout
