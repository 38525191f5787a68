"""``polynlu learn``: from an interaction log to rewrites and pseudo-labelled training data.

One pass, in this order:

1. the log's requests become sessions of turns (``sessions.turns_from_rows``);
2. every distinct utterance (a state and its locale) is embedded once by the served model's
   encoder, so a million logged requests cost one encoder pass over the distinct texts;
3. rephrases are found (``sessions.rephrased``) with those embeddings;
4. states are clustered: two utterances of one locale that the model read alike (same intent,
   same slot values) and whose embeddings are at least ``cluster_similarity`` close are one
   state, so "wake me up at five" and "wake me at five" pool their evidence. Requiring the
   same reading keeps "at five" and "at six" apart however close their embeddings are;
5. attempts become paths through the absorbing chain (``markov.AbsorbingChain``); each state
   that usually fails gets the successor most likely to succeed as its rewrite, when enough
   users took that step (``min_support``) and the successor usually succeeds;
6. each rewrite gives pseudo-labelled examples: every utterance of the failing cluster with the
   interpretation its rewrite was served with, the slot values found in its own words.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from polynlu.data.example import Example, example_from_spans
from polynlu.errors import DataError
from polynlu.learning.markov import AbsorbingChain, Rewrite, count_transitions
from polynlu.learning.sessions import (
    RephraseRule,
    Turn,
    attempts,
    defective,
    embedding_similarity,
    normalise,
    rephrased,
    turns_from_rows,
)
from polynlu.models.prototypes import normalized
from polynlu.text.spans import Span

Embed = Callable[[Sequence[str], Sequence[str | None]], np.ndarray]
"""Texts and their locales → one sentence embedding a text (``NLUModel.sentence_embeddings``)."""
Advance = Callable[[str, int, int], None]
"""``(stage, done, total)``: how far learning has got, for a progress bar."""


@dataclass(frozen=True)
class LearnSettings:
    rephrase: RephraseRule = field(default_factory=RephraseRule)
    cluster_similarity: float = 0.95
    """Utterances read alike and at least this close (cosine) are one state of the chain."""
    min_support: int = 2
    """A rewrite needs at least this many users who went from its source to its target."""
    min_source_defects: float = 0.5
    """Only utterances that were defective at least this often get a rewrite…"""
    min_target_success: float = 0.9
    """…and only to a rephrase served as said at least this often, at least this likely to
    end in success (its absorption probability), and more likely than the utterance was to
    be served as said. Measured (docs/learning.md): 0.7 → 0.9 raised the applied rewrites'
    precision in the simulator, as give-ups users do not report read as successes."""
    embed_batch_size: int = 128


@dataclass(frozen=True)
class Reading:
    """What the model answered for an utterance, as compared between utterances."""

    intent: str
    slots: tuple[tuple[str, str], ...]
    """(slot type, normalised value), in order."""
    raw_slots: tuple[dict[str, Any], ...]


@dataclass
class StateInfo:
    """One distinct utterance of the log."""

    state: str
    locale: str | None
    count: int = 0
    texts: Counter[str] = field(default_factory=Counter)
    readings: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(intent, slots JSON) → how often the model answered so."""

    @property
    def text(self) -> str | None:
        return self.texts.most_common(1)[0][0] if self.texts else None

    def reading(self) -> Reading:
        (intent, slots_json), _ = self.readings.most_common(1)[0]
        raw = tuple(json.loads(slots_json))
        return Reading(
            intent, tuple((slot["slot"], normalise(str(slot["value"]))) for slot in raw), raw
        )


@dataclass(frozen=True)
class TurnRecord:
    """One logged request as the report counts it."""

    time: datetime
    locale: str | None
    intent: str
    defective: bool


@dataclass
class Learned:
    """What one round of learning found."""

    rewrites: list[Rewrite]
    """Every source utterance (each member of a failing cluster) → its rewrite's text."""
    examples: list[Example]
    """Pseudo-labelled: failing utterances with their rewrite's interpretation."""
    turns: list[TurnRecord]
    counts: dict[str, int]
    """requests, sessions, attempts, states, clusters, rephrases, …: for the report."""
    unlabelled: list[tuple[str, str]] = field(default_factory=list)
    """(utterance, rewrite) pairs whose slot values were not found in the utterance's words."""
    rewrites_without_text: int = 0
    """Rewrites found on a log kept without text (``--no-log-text``): none can be applied."""


def learn(
    rows: Sequence[Mapping[str, Any]],
    embed: Embed,
    settings: LearnSettings = LearnSettings(),
    *,
    advance: Advance | None = None,
) -> Learned:
    """Rewrites and pseudo-labelled examples from ``read_requests`` rows."""
    sessions = turns_from_rows(rows)
    states = _state_infos(turn for turns in sessions.values() for turn in turns)
    vectors = _embed_states(states, embed, settings.embed_batch_size, advance)

    similarity = embedding_similarity(vectors)
    paths: list[list[str]] = []
    records: list[TurnRecord] = []
    defects: Counter[str] = Counter()
    rephrase_count = 0
    for session, turns in sessions.items():
        # A request without a session stands alone: no rephrase can be told.
        linked = (
            rephrased(turns, similarity, settings.rephrase)
            if session is not None
            else [False] * len(turns)
        )
        rephrase_count += sum(linked)
        paths += attempts(turns, linked)
        for turn, was_linked in zip(turns, linked, strict=True):
            records.append(
                TurnRecord(turn.time, turn.locale, turn.intent, defective(turn, was_linked))
            )
            defects[turn.state] += records[-1].defective
    if advance:
        advance("Clustering utterances", 0, 1)
    cluster_of = _clusters(states, vectors, settings.cluster_similarity)
    if advance:
        advance("Clustering utterances", 1, 1)
    clustered = [[cluster_of.get(state, state) for state in path] for path in paths]
    chain = AbsorbingChain(count_transitions(clustered))
    members: dict[str, list[str]] = defaultdict(list)
    for state, cluster in cluster_of.items():
        members[cluster].append(state)
    said: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for state, info in states.items():
        said[cluster_of.get(state, state)] += info.count
        failed[cluster_of.get(state, state)] += defects[state]

    rewrites: list[Rewrite] = []
    without_text = 0
    for cluster in chain.states:
        defect_rate = failed[cluster] / said[cluster]
        if defect_rate < settings.min_source_defects:
            continue
        # The target must itself be served as said: a rephrase that users had to rephrase
        # again can still lead to success, but it is not what to parse instead.
        found = chain.best_rewrite(
            cluster,
            min_support=settings.min_support,
            baseline=1.0 - defect_rate,
            accept=lambda target: (
                1.0 - failed[target] / said[target] >= settings.min_target_success
            ),
        )
        if found is None or found.probability < settings.min_target_success:
            continue
        target = states[found.target]
        if target.text is None:
            without_text += 1
            continue
        for state in members.get(cluster, [cluster]):
            # The utterance as users wrote it: the table normalises it again as its key.
            source = states[state].text or state
            rewrites.append(Rewrite(source, target.text, found.probability, found.support))
    examples, unlabelled = _pseudo_labelled(rewrites, states)
    counts = {
        "requests": len(rows),
        "sessions": sum(1 for key in sessions if key is not None),
        "requests without a session": len(sessions.get(None, [])),
        "attempts": len(paths),
        "rephrases": rephrase_count,
        "defective requests": sum(record.defective for record in records),
        "utterances": len(states),
        "states after clustering": len(chain.states),
        "rewrites": len(rewrites),
        "pseudo-labelled examples": len(examples),
    }
    return Learned(rewrites, examples, records, counts, unlabelled, without_text)


def _state_infos(turns: Iterable[Turn]) -> dict[str, StateInfo]:
    infos: dict[str, StateInfo] = {}
    for turn in turns:
        info = infos.get(turn.state)
        if info is None:
            info = infos[turn.state] = StateInfo(turn.state, turn.locale)
        info.count += 1
        if turn.text is not None:
            info.texts[turn.text] += 1
        info.readings[(turn.intent, turn.slots)] += 1
    return infos


def _embed_states(
    states: Mapping[str, StateInfo], embed: Embed, batch_size: int, advance: Advance | None
) -> dict[str, np.ndarray]:
    """One unit vector per distinct utterance with text, keyed by its state."""
    keyed = [(info.state, info.locale, info.text) for info in states.values() if info.text]
    # Similar lengths share a batch: less padding, the same vectors.
    keyed.sort(key=lambda item: len(item[2] or ""))
    vectors: dict[str, np.ndarray] = {}
    for start in range(0, len(keyed), batch_size):
        chunk = keyed[start : start + batch_size]
        embedded = normalized(embed([text or "" for *_, text in chunk], [c[1] for c in chunk]))
        for (state, _, _), vector in zip(chunk, embedded, strict=True):
            vectors[state] = vector
        if advance:
            advance("Embedding utterances", min(start + batch_size, len(keyed)), len(keyed))
    return vectors


def _clusters(
    states: Mapping[str, StateInfo],
    vectors: Mapping[str, np.ndarray],
    threshold: float,
) -> dict[str, str]:
    """State → its cluster's name (its most frequent member), for states with text."""
    groups: dict[tuple[str | None, str, tuple[tuple[str, str], ...]], list[StateInfo]] = (
        defaultdict(list)
    )
    for info in states.values():
        if info.state in vectors:
            reading = info.reading()
            groups[(info.locale, reading.intent, reading.slots)].append(info)
    cluster_of: dict[str, str] = {}
    for group in groups.values():
        group.sort(key=lambda info: (-info.count, info.state))
        matrix = np.stack([vectors[info.state] for info in group])
        # Blocks of rows keep the similarity matrix of a large group within memory.
        pairs = np.concatenate(
            [
                np.argwhere(matrix[start : start + 1024] @ matrix.T >= threshold)
                + np.array([start, 0])
                for start in range(0, len(group), 1024)
            ]
        )
        adjacency = sparse.coo_matrix(
            (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(group), len(group))
        )
        _, component = connected_components(adjacency, directed=False)
        # The group is sorted by frequency: a component's first member is its most frequent.
        first: dict[int, int] = {}
        for n, label in enumerate(component):
            first.setdefault(int(label), n)
            cluster_of[group[n].state] = group[first[int(label)]].state
    return cluster_of


def _pseudo_labelled(
    rewrites: Sequence[Rewrite], states: Mapping[str, StateInfo]
) -> tuple[list[Example], list[tuple[str, str]]]:
    examples: list[Example] = []
    unlabelled: list[tuple[str, str]] = []
    for number, rewrite in enumerate(rewrites):
        source = states[normalise(rewrite.source)]
        text, locale = source.text, source.locale
        target = states.get(normalise(rewrite.target))
        if text is None or locale is None or target is None:
            continue
        reading = target.reading()
        spans = _find_values(text, reading.raw_slots)
        if spans is None:
            unlabelled.append((text, rewrite.target))
            continue
        try:
            examples.append(
                example_from_spans(
                    id=f"learned-{number}",
                    locale=locale,
                    intent=reading.intent,
                    utt=text,
                    spans=spans,
                )
            )
        except DataError:
            unlabelled.append((text, rewrite.target))
    return examples, unlabelled


def _find_values(text: str, slots: Sequence[Mapping[str, Any]]) -> list[Span] | None:
    """Each slot value's span in ``text`` (case aside, left to right), or None when one of
    them is not there: the example would then teach the model to miss it."""
    spans: list[Span] = []
    position = 0
    for slot in slots:
        value = re.compile(re.escape(str(slot["value"])), re.IGNORECASE)
        match = value.search(text, position)
        if match is None:  # said in another order than the rewrite's
            match = value.search(text)
            if match is None or any(s.start < match.end() and match.start() < s.end for s in spans):
                return None
        spans.append(Span(str(slot["slot"]), match.start(), match.end()))
        position = match.end()
    return sorted(spans, key=lambda span: span.start)
