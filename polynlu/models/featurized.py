"""``FeaturizedModel``: the shared half of every model that reads the featurizer's arrays.

The joint model (PyTorch) and its export (onnxruntime) segment, featurize, turn logits into
probabilities, blend in the intent prototypes and cut the padding off in the same way; only
the runtime call that maps the arrays to logits differs, and that is all a subclass writes.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import softmax

from polynlu.errors import CannotLearnError
from polynlu.models.base import NLUModel
from polynlu.models.decoding import UtteranceScores
from polynlu.models.features import Features, Featurizer
from polynlu.text.segmentation import Word, segment


@dataclass(frozen=True)
class NetworkOutputs:
    intent_logits: np.ndarray  # [batch, head intents]
    slot_logits: np.ndarray  # [batch, words, labels]
    sentences: np.ndarray | None  # [batch, hidden]: mean-pooled states; None if not exported


class FeaturizedModel(NLUModel):
    featurizer: Featurizer

    @abstractmethod
    def outputs(self, features: Features) -> NetworkOutputs:
        """Intent and slot logits, and the sentence embeddings where the runtime gives them."""

    def _words(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[list[Word]]:
        return [
            segment(text, locale, self.segmentation)
            for text, locale in zip(texts, locales, strict=True)
        ]

    def probabilities(
        self, texts: Sequence[str], locales: Sequence[str | None]
    ) -> list[UtteranceScores]:
        if not texts:
            return []
        words = self._words(texts, locales)
        outputs = self.outputs(self.featurizer.batch(texts, words))
        intent_probs = softmax(outputs.intent_logits, axis=-1)
        # One read of the prototypes: examples added meanwhile apply to the next batch whole.
        prototypes = self.prototypes
        if prototypes is not None and outputs.sentences is not None:
            intent_probs = prototypes.blend(intent_probs, outputs.sentences)
        intents = prototypes.intents if prototypes is not None else tuple(self._intents)
        slot_probs = softmax(outputs.slot_logits, axis=-1)
        return [
            UtteranceScores(sentence, intent_probs[row], slot_probs[row, : len(sentence)], intents)
            for row, sentence in enumerate(words)
        ]

    def sentence_embeddings(
        self, texts: Sequence[str], locales: Sequence[str | None], *, batch_size: int = 64
    ) -> np.ndarray:
        rows = []
        for start in range(0, len(texts), batch_size):
            chunk, chunk_locales = (
                texts[start : start + batch_size],
                locales[start : start + batch_size],
            )
            outputs = self.outputs(self.featurizer.batch(chunk, self._words(chunk, chunk_locales)))
            if outputs.sentences is None:
                raise CannotLearnError(
                    f"this {self.kind} model gives no sentence embeddings (it was exported by "
                    "an older polynlu): export it again to add examples to it"
                )
            rows.append(outputs.sentences)
        return np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32)
