"""The absorbing Markov chain of Ponnusamy et al. (AAAI 2020, "Feedback-based self-learning in
large-scale conversational AI agents"), over utterances in sessions.

States are utterances (normalised and clustered upstream); a transition u → v is a user who
said u and then v in the same session; every session ends in one of two absorbing states,
``SUCCESS`` or ``FAILURE``. With Q the transitions among utterances and R those into the
absorbing states (rows normalised by how often each utterance was left), the absorption
probabilities are B = (I − Q)⁻¹ R: the chance that a user who says u ends up served. For an
utterance that fails, the successor most likely to end in success is its rewrite.

Written on scipy's sparse solver rather than a general graph library: the chain of a million
logged requests has hundreds of thousands of states, and one sparse solve with two right-hand
sides gives every state's absorption probabilities at once.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve

SUCCESS = "<success>"
FAILURE = "<failure>"
ABSORBING = (SUCCESS, FAILURE)


@dataclass(frozen=True)
class Rewrite:
    source: str
    """An utterance users rephrased, or that failed."""
    target: str
    """What users who said ``source`` said next, most likely to end in success."""
    probability: float
    """The chance of success from ``target`` (its absorption probability)."""
    support: int
    """How many times users went from ``source`` to ``target``."""


def count_transitions(sessions: Iterable[Sequence[str]]) -> Counter[tuple[str, str]]:
    """Transitions from sessions, each a list of states ending in ``SUCCESS`` or ``FAILURE``."""
    counts: Counter[tuple[str, str]] = Counter()
    for session in sessions:
        if not session or session[-1] not in ABSORBING:
            raise ValueError(f"a session must end in {SUCCESS} or {FAILURE}: {list(session)}")
        if any(state in ABSORBING for state in session[:-1]):
            raise ValueError(f"an absorbing state inside a session: {list(session)}")
        counts.update(itertools.pairwise(session))
    return counts


class AbsorbingChain:
    """Absorption probabilities of every utterance state, from transition counts."""

    def __init__(self, counts: Mapping[tuple[str, str], int]) -> None:
        self.counts = dict(counts)
        self.states = sorted({state for pair in counts for state in pair} - set(ABSORBING))
        self._index = {state: n for n, state in enumerate(self.states)}
        self._successors: dict[str, list[tuple[str, int]]] = {}
        for (source, target), count in self.counts.items():
            if source in ABSORBING:
                raise ValueError(f"a transition out of the absorbing state {source}")
            self._successors.setdefault(source, []).append((target, count))
        leaving = [s for s in self.states if s not in self._successors]
        if leaving:
            raise ValueError(f"states that no session leaves: {leaving[:5]}")
        self._success = self._solve()

    def _solve(self) -> np.ndarray:
        size = len(self.states)
        if size == 0:
            return np.zeros(0)
        rows, columns, weights = [], [], []
        into = np.zeros((size, len(ABSORBING)))
        for source, successors in self._successors.items():
            total = sum(count for _, count in successors)
            row = self._index[source]
            for target, count in successors:
                if target in ABSORBING:
                    into[row, ABSORBING.index(target)] += count / total
                else:
                    rows.append(row)
                    columns.append(self._index[target])
                    weights.append(count / total)
        among = sparse.csc_matrix((weights, (rows, columns)), shape=(size, size))
        system = (sparse.identity(size, format="csc") - among).tocsc()
        # Only the success column is needed: failure is its complement.
        solved = np.asarray(spsolve(system, into[:, 0]), dtype=np.float64).reshape(size)
        clipped: np.ndarray = np.clip(solved, 0.0, 1.0)
        return clipped

    def success_probability(self, state: str) -> float:
        """The chance that a user who says ``state`` ends the session served."""
        return float(self._success[self._index[state]])

    def best_rewrite(
        self,
        state: str,
        *,
        min_support: int = 1,
        baseline: float | None = None,
        accept: Callable[[str], bool] | None = None,
    ) -> Rewrite | None:
        """The successor of ``state`` users went to at least ``min_support`` times (and that
        ``accept`` accepts) most likely to end in success, if it does better than
        ``baseline``: by default the success probability of ``state`` itself; a learner that
        knows how often ``state`` was served as said passes that instead, since a user who
        rephrases to success lifts the chance of the state they left."""
        candidates = [
            (self.success_probability(target), count, target)
            for target, count in self._successors.get(state, [])
            if target not in ABSORBING
            and target != state
            and count >= min_support
            and (accept is None or accept(target))
        ]
        if not candidates:
            return None
        probability, support, target = max(candidates)
        floor = self.success_probability(state) if baseline is None else baseline
        if probability <= floor:
            return None
        return Rewrite(state, target, probability, support)
