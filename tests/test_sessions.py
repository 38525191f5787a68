"""Logged requests → sessions → rephrases → attempts ending in success or failure: the paths
the absorbing chain counts."""

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from polynlu.learning.markov import FAILURE, SUCCESS
from polynlu.learning.sessions import (
    attempts,
    embedding_similarity,
    normalise,
    rephrased,
    turns_from_rows,
)
from polynlu.models.joint import JointModel
from polynlu.models.prototypes import normalized

START = datetime(2026, 11, 25, 8, tzinfo=timezone.utc)


def row(
    seconds: float,
    text: str | None,
    intent: str,
    confidence: float = 0.9,
    *,
    session: str | None = "s1",
    outcome: str | None = None,
    out_of_scope: bool = False,
) -> dict[str, Any]:
    return {
        "time": START + timedelta(seconds=seconds),
        "session_id": session,
        "text": text,
        "text_hash": f"h-{text}",
        "locale": "en-US",
        "intent": intent,
        "slots": "[]",
        "confidence": confidence,
        "out_of_scope": out_of_scope,
        "outcome": outcome,
    }


def word_overlap(pairs: Sequence[str], locales: Sequence[str | None]) -> list[float]:
    """A similarity with a known answer, standing in for the encoder's cosine (which
    ``test_the_encoder_similarity_is_a_cosine`` checks on a real model)."""
    scores = []
    for first, second in zip(pairs[::2], pairs[1::2], strict=True):
        a, b = set(normalise(first).split()), set(normalise(second).split())
        scores.append(len(a & b) / len(a | b))
    return scores


def test_a_rephrase_joins_turns_into_one_attempt_and_a_new_goal_starts_another() -> None:
    turns = turns_from_rows(
        [
            row(65, "What time is it?", "datetime_query"),
            row(0, "Play LOTR", "music_query", confidence=0.31),
            row(5, "play the lotr soundtrack", "play_music"),
        ]
    )["s1"]
    assert [turn.state for turn in turns] == [
        "play lotr", "play the lotr soundtrack", "what time is it",
    ]  # fmt: skip
    linked = rephrased(turns, word_overlap)
    assert linked == [True, False, False]  # a minute later is a new request, not a rephrase
    assert attempts(turns, linked) == [
        ["play lotr", "play the lotr soundtrack", SUCCESS],
        ["what time is it", SUCCESS],
    ]


def test_dissimilar_or_late_or_agreeing_follow_ups_are_not_rephrases() -> None:
    turns = turns_from_rows(
        [
            row(0, "set an alarm for six", "alarm_set", confidence=0.95),
            row(3, "set an alarm for six", "alarm_set", confidence=0.95),  # same answer, sure
            row(6, "turn on the kitchen lights", "iot_hue_lighton"),  # another goal
            row(200, "turn the kitchen lights on", "iot_hue_lightoff"),  # too late
        ]
    )["s1"]
    assert rephrased(turns, word_overlap) == [False, False, False, False]


def test_feedback_and_out_of_scope_end_an_attempt_in_failure() -> None:
    rows = [
        row(0, "book me a cab", "transport_taxi", outcome="failure"),
        row(100, "sing me a song about cheese", "music_query", out_of_scope=True),
        row(0, "what's the weather", "weather_query", session=None, outcome="abandoned"),
    ]
    sessions = turns_from_rows(rows)
    turns = sessions["s1"]
    assert attempts(turns, rephrased(turns, word_overlap)) == [
        ["book me a cab", FAILURE],
        ["sing me a song about cheese", FAILURE],
    ]
    alone = sessions[None]
    assert attempts(alone, [False]) == [["what s the weather", FAILURE]]


def test_without_text_only_an_exact_repeat_is_a_rephrase() -> None:
    turns = turns_from_rows(
        [
            row(0, None, "alarm_query", confidence=0.2) | {"text_hash": "a"},
            row(4, None, "alarm_query", confidence=0.4) | {"text_hash": "a"},
            row(8, None, "alarm_set") | {"text_hash": "b"},
        ]
    )["s1"]
    linked = rephrased(turns, word_overlap)
    assert linked == [True, False, False]
    assert attempts(turns, linked) == [["#a", "#a", SUCCESS], ["#b", SUCCESS]]


def test_the_encoder_similarity_is_a_cosine(tiny_joint: tuple[JointModel, Path]) -> None:
    texts = ["wake me up at five", "what is the weather"]
    vectors = normalized(tiny_joint[0].sentence_embeddings(texts, ["en-US"] * 2))
    similarity = embedding_similarity(dict(zip(texts, vectors, strict=True)))
    same, other = similarity(
        ["wake me up at five", "wake me up at five", "wake me up at five", "what is the weather"],
        ["en-US"] * 4,
    )
    assert same == pytest.approx(1.0, abs=1e-5) and -1.0 <= other < same
