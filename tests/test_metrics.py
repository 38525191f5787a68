"""Hand-worked cases for each official convention."""

from pathlib import Path

import pytest

from polynlu.evaluation.metrics import compute_scores, fit_to_gold, to_bio


def test_bio_comes_from_runs_of_equal_labels() -> None:
    assert to_bio(["city", "city", "Other", "country", "country", "Other"]) == [
        "B-city", "I-city", "O", "B-country", "I-country", "O",
    ]  # fmt: skip


def test_adjacent_slots_of_one_type_merge_into_one_chunk() -> None:
    # "[date : monday] [date : tuesday]" is two gold slots but one run of 'date'.
    assert to_bio(["date", "date"]) == ["B-date", "I-date"]
    # Predicting the merged run is therefore fully right:
    result = compute_scores(["i"], ["i"], [["date", "date"]], [["date", "date"]])
    assert (result.slot_f1, result.exact_match) == (1.0, 1.0)


def test_different_adjacent_types_stay_separate() -> None:
    assert to_bio(["date", "time"]) == ["B-date", "B-time"]


def test_short_predictions_are_padded_and_long_ones_truncated() -> None:
    assert fit_to_gold(["time"], 3) == ["time", "Other", "Other"]
    assert fit_to_gold(["time", "date", "date", "date"], 2) == ["time", "date"]
    gold = [["time", "Other", "Other"]]
    assert compute_scores(["i"], ["i"], gold, [["time"]]).exact_match == 1.0
    assert (
        compute_scores(["i"], ["i"], gold, [["time", "Other", "Other", "date"]]).exact_match == 1.0
    )


def test_micro_f1_pools_chunks_over_utterances() -> None:
    # Gold: 3 chunks. Prediction: 4 chunks, 2 right. P = 2/4, R = 2/3, F1 = 4/7.
    gold = [["time", "time", "Other"], ["date", "Other", "place"]]
    predicted = [["time", "time", "date"], ["date", "place", "Other"]]
    result = compute_scores(["a", "b"], ["a", "b"], gold, predicted)
    assert result.slot_f1 == pytest.approx(2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3))


def test_a_partly_right_chunk_counts_as_wrong() -> None:
    result = compute_scores(["a"], ["a"], [["time", "time"]], [["time", "Other"]])
    assert result.slot_f1 == 0.0
    assert result.exact_match == 0.0


def test_exact_match_needs_the_intent_and_every_tag() -> None:
    gold = [["time"], ["Other"], ["Other"]]
    predicted = [["time"], ["Other"], ["date"]]
    result = compute_scores(["a", "b", "c"], ["a", "x", "c"], gold, predicted)
    assert result.intent_acc == pytest.approx(2 / 3)
    assert result.exact_match == pytest.approx(1 / 3)
    assert result.n == 3


def test_no_slots_anywhere_scores_zero_f1_like_the_official_code() -> None:
    result = compute_scores(["a"], ["a"], [["Other", "Other"]], [["Other", "Other"]])
    assert result.slot_f1 == 0.0
    assert result.exact_match == 1.0


def test_mismatched_lengths_and_empty_input_are_errors() -> None:
    with pytest.raises(ValueError, match="one entry per utterance"):
        compute_scores(["a"], [], [["Other"]], [["Other"]])
    with pytest.raises(ValueError, match="empty"):
        compute_scores([], [], [], [])


def test_the_official_reading_keeps_a_label_after_an_ascii_slot_end_in_ja_zh() -> None:
    from polynlu.evaluation.chunking import official_labels

    annot = "お気に入りの [artist_name : bruno mars] の曲をかけて"
    assert official_labels(annot, "ja-JP") == ["Other"] * 6 + ["artist_name"] * 8
    # A non-ASCII ']' ends the slot, also in the middle of a chunk.
    assert official_labels("[date : 明日]の天気", "ja-JP") == ["date"] * 2 + ["Other"] * 3
    assert official_labels("wake me at [time : five am] please", "en-US") == (
        ["Other"] * 3 + ["time"] * 2 + ["Other"]
    )


def test_evaluation_reports_official_and_corrected_scores(tiny_data: Path) -> None:
    from polynlu.data import MassiveData
    from polynlu.evaluation.evaluate import Prediction, score_predictions
    from polynlu.types import Interpretation, Slot

    example = next(
        e
        for e in MassiveData(tiny_data).read(["ja-JP"], None, show_progress=False).examples
        if "bruno mars]" in e.annot_utt
    )
    start = example.utt.index("bruno mars")
    exact = Interpretation(
        example.utt,
        example.intent,
        1.0,
        (Slot("artist_name", "bruno mars", start, start + len("bruno mars")),),
        "ja-JP",
    )
    prediction = [Prediction(example, exact)]
    assert score_predictions(prediction, "corrected")["ja-JP"].exact_match == 1.0
    assert score_predictions(prediction)["ja-JP"].exact_match == 0.0  # official gold runs on
