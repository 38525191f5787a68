"""From logged requests to the paths the absorbing chain counts: sessions, rephrases and
defects.

A session is the requests that share a ``session_id``, in time order. A turn is **rephrased**
when the next request of its session comes soon after (``within_s``), says something similar
(cosine of sentence embeddings at least ``min_similarity``), and either got another
interpretation or this turn's confidence was low: the user tried again. A turn the client
reported as failed is rephrased by whatever the user said next within ``within_s``. A turn is
**defective** when it was rephrased, when the client's feedback says it failed or was
abandoned, or when it was answered out of scope.

Rephrases chain turns into attempts at one goal. Each attempt becomes a path of utterance
states ending in ``SUCCESS`` (its last turn was not defective) or ``FAILURE``: the input of
``markov.count_transitions``. A request with no session is an attempt of its own.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from polynlu.learning.markov import FAILURE, SUCCESS


@dataclass(frozen=True)
class RephraseRule:
    within_s: float = 45.0
    """The next request must come this soon after the answer."""
    min_similarity: float = 0.5
    """…and be at least this similar (cosine of the encoder's sentence embeddings)."""
    low_confidence: float = 0.5
    """A repeat with the same interpretation counts when the first answer was below this."""


@dataclass(frozen=True)
class Turn:
    state: str
    """The utterance's state in the chain: its normalised text (or its hash, where the log
    kept no text)."""
    text: str | None
    time: datetime
    locale: str | None
    intent: str
    slots: str
    confidence: float
    out_of_scope: bool
    outcome: str | None
    """The client's feedback, if any."""


def normalise(text: str) -> str:
    """One state for the ways of writing one utterance: case, width, punctuation, spaces.
    Only punctuation and symbols go: Devanagari's vowel signs, like every combining mark,
    are part of the word (a ``[^\\w\\s]`` pattern would strip them)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.translate(_punctuation_to_space()).split())


@functools.cache
def _punctuation_to_space() -> dict[int, str]:
    """A table for ``str.translate`` (C speed over a million logged texts): each punctuation
    and symbol character of Unicode's first two planes (where all of them are but a few
    tags) → a space. Built on first use: it takes a fifth of a second."""
    return {code: " " for code in range(0x20000) if unicodedata.category(chr(code))[0] in "PS"}


def turns_from_rows(rows: Iterable[Mapping[str, Any]]) -> dict[str | None, list[Turn]]:
    """``read_requests`` rows grouped by session (None: requests without one), in time order."""
    sessions: dict[str | None, list[Turn]] = {}
    for row in rows:
        text = row["text"]
        sessions.setdefault(row["session_id"], []).append(
            Turn(
                state=normalise(text) if text is not None else f"#{row['text_hash']}",
                text=text,
                time=row["time"],
                locale=row["locale"],
                intent=row["intent"],
                slots=row["slots"],
                confidence=row["confidence"],
                out_of_scope=row["out_of_scope"],
                outcome=row.get("outcome"),
            )
        )
    for turns in sessions.values():
        turns.sort(key=lambda turn: turn.time)
    return sessions


Similarity = Callable[[Sequence[str], Sequence[str | None]], Sequence[float]]
"""Texts and locales of consecutive pairs, flattened as ``[a1, b1, a2, b2, …]`` → one cosine
a pair (``embedding_similarity``: the served model's sentence embeddings)."""


def embedding_similarity(vectors: Mapping[str, np.ndarray]) -> Similarity:
    """Cosines of unit sentence embeddings computed beforehand, one per state (``learner``
    embeds each distinct utterance of a log once, rather than each pair it compares)."""

    def similarity(texts: Sequence[str], locales: Sequence[str | None]) -> list[float]:
        keys = [normalise(text) for text in texts]
        return [float(vectors[a] @ vectors[b]) for a, b in zip(keys[::2], keys[1::2], strict=True)]

    return similarity


def rephrased(
    turns: Sequence[Turn], similarity: Similarity, rule: RephraseRule = RephraseRule()
) -> list[bool]:
    """For each turn of one session, whether the next one rephrased it. Turns without text
    are compared by state alone."""
    soon = [
        n
        for n in range(len(turns) - 1)
        if (turns[n + 1].time - turns[n].time).total_seconds() <= rule.within_s
    ]
    reported = {n for n in soon if turns[n].outcome == "failure"}
    candidates = [
        n
        for n in soon
        if n not in reported
        and (
            turns[n + 1].intent != turns[n].intent
            or turns[n + 1].slots != turns[n].slots
            or turns[n].confidence < rule.low_confidence
        )
    ]
    with_text = [n for n in candidates if turns[n].text and turns[n + 1].text]
    pairs = [turn for n in with_text for turn in (turns[n], turns[n + 1])]
    texts = [turn.text or "" for turn in pairs]
    cosines = similarity(texts, [turn.locale for turn in pairs]) if pairs else []
    scores = dict(zip(with_text, cosines, strict=True))
    found = [n in reported for n in range(len(turns))]
    for n in candidates:
        # Without text, only a repeat of the same words can be told.
        found[n] = (
            scores[n] >= rule.min_similarity
            if n in scores
            else turns[n].state == turns[n + 1].state
        )
    return found


def defective(turn: Turn, was_rephrased: bool) -> bool:
    return was_rephrased or turn.outcome in ("failure", "abandoned") or turn.out_of_scope


def attempts(turns: Sequence[Turn], was_rephrased: Sequence[bool]) -> list[list[str]]:
    """The session cut into attempts (runs of turns linked by rephrases), each a path of
    states ending in ``SUCCESS`` or ``FAILURE``."""
    paths: list[list[str]] = []
    current: list[str] = []
    for turn, linked in zip(turns, was_rephrased, strict=True):
        current.append(turn.state)
        if not linked:
            current.append(FAILURE if defective(turn, False) else SUCCESS)
            paths.append(current)
            current = []
    return paths
