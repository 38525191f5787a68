"""Intent prototypes: what lets a trained model take new intents and examples at once.

Each intent has a prototype, the mean of its examples' sentence embeddings (the encoder's
mean-pooled states, length-normalised); an utterance's prototype probabilities are a softmax
over its cosine similarity to each (Snell et al., 2017, "Prototypical Networks"). A model
trained by polynlu keeps the prototypes of its training intents; ``NLU.add_examples`` adds to
them, and adds intents the trained head has never seen.

The head and the prototypes share the intent probabilities. With ``q`` the prototype
probabilities over every intent, ``h`` the head's over the intents it was trained on (``H``)
and ``w`` the prototypes' weight::

    p(i) = w·q(i) + (1 − w)·q(H)·h(i)    for i in H
    p(i) = q(i)                          for an intent added after training

The prototypes first decide between the trained intents as a whole and each added one; the
head, blended with them, then shares ``q(H)`` among the trained intents. The rows sum to one,
and with no added intents it is the plain mixture ``w·q + (1 − w)·h``.

Arrays are kept in ``prototypes.safetensors``: the sum of each intent's normalised embeddings
and its count, so that adding examples later is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from scipy.special import softmax

from polynlu.models.config import PROTOTYPES_FILE


def normalized(embeddings: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(embeddings, axis=-1, keepdims=True)
    return np.asarray(embeddings / np.maximum(norms, 1e-12), dtype=np.float32)


@dataclass(frozen=True)
class IntentPrototypes:
    """The prototypes of ``intents`` (the head's intents first, then the added ones).

    Frozen: ``add`` returns a new object, so a server answering requests while examples are
    added reads either the old prototypes or the new ones, never half of each.
    """

    intents: tuple[str, ...]
    sums: np.ndarray  # [intents, hidden]: the sum of each intent's normalised embeddings
    counts: np.ndarray  # [intents]
    head_intents: int
    """How many of ``intents`` (the first ones) the trained head scores."""
    scale: float
    """Cosine similarity → logit (an inverse temperature)."""
    weight: float
    """The prototypes' share of a trained intent's probability."""

    @classmethod
    def from_embeddings(
        cls,
        intents: Sequence[str],
        embeddings: np.ndarray,
        labels: Sequence[str],
        *,
        scale: float,
        weight: float,
    ) -> IntentPrototypes:
        """Prototypes of the head's ``intents`` from examples' embeddings and intent labels."""
        index = {name: i for i, name in enumerate(intents)}
        sums = np.zeros((len(intents), embeddings.shape[1]), dtype=np.float32)
        counts = np.zeros(len(intents), dtype=np.float32)
        rows = np.array([index[label] for label in labels], dtype=np.int64)
        np.add.at(sums, rows, normalized(embeddings))
        np.add.at(counts, rows, 1.0)
        return cls(tuple(intents), sums, counts, len(intents), scale, weight)

    @property
    def added_intents(self) -> list[str]:
        return list(self.intents[self.head_intents :])

    def add(self, intent: str, embeddings: np.ndarray) -> IntentPrototypes:
        """These prototypes with ``embeddings`` (one row per example) added to ``intent``'s,
        which is created (after every other) when it is new."""
        intents, sums, counts = self.intents, self.sums.copy(), self.counts.copy()
        if intent not in intents:
            intents = (*intents, intent)
            sums = np.vstack([sums, np.zeros((1, sums.shape[1]), dtype=np.float32)])
            counts = np.append(counts, np.float32(0.0))
        row = intents.index(intent)
        sums[row] += normalized(embeddings).sum(0)
        counts[row] += len(embeddings)
        return IntentPrototypes(intents, sums, counts, self.head_intents, self.scale, self.weight)

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """``q``: the prototype probabilities ``[batch, intents]`` (intents with no example
        yet take none)."""
        centres = normalized(self.sums)
        logits = self.scale * (normalized(embeddings) @ centres.T)
        logits[:, self.counts == 0] = -np.inf
        result: np.ndarray = softmax(logits, axis=-1)
        return result

    def blend(self, head_probs: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        """``p`` (see the module docstring) from the head's probabilities ``[batch, H]``."""
        q = self.probabilities(embeddings)
        trained = q[:, : self.head_intents]
        share = trained.sum(-1, keepdims=True)
        blended = self.weight * trained + (1 - self.weight) * share * head_probs
        return np.concatenate([blended, q[:, self.head_intents :]], axis=-1)

    def save(self, folder: Path) -> None:
        # Through a temporary file: a server saving additions never leaves half a file.
        scratch = folder / f".{PROTOTYPES_FILE}.partial"
        save_file({"sums": self.sums, "counts": self.counts}, str(scratch))
        scratch.replace(folder / PROTOTYPES_FILE)

    @classmethod
    def load(
        cls,
        folder: Path,
        intents: Sequence[str],
        added_intents: Sequence[str],
        *,
        scale: float,
        weight: float,
    ) -> IntentPrototypes:
        arrays = load_file(str(folder / PROTOTYPES_FILE))
        names = (*intents, *added_intents)
        if arrays["sums"].shape[0] != len(names) or arrays["counts"].shape != (len(names),):
            raise ValueError(
                f"{PROTOTYPES_FILE} holds {arrays['sums'].shape[0]} prototypes for "
                f"{len(names)} intents"
            )
        return cls(names, arrays["sums"], arrays["counts"], len(intents), scale, weight)
