"""``FeaturizedModel``: the shared half of every model that reads the featurizer's arrays.

The joint model (PyTorch) and its export (onnxruntime) segment, featurize, turn logits into
probabilities and cut the padding off in the same way; only the runtime call that maps the
arrays to intent and slot logits differs, and that is all a subclass writes.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np
from scipy.special import softmax

from polynlu.models.base import NLUModel
from polynlu.models.decoding import UtteranceScores
from polynlu.models.features import Features, Featurizer
from polynlu.text.segmentation import segment


class FeaturizedModel(NLUModel):
    featurizer: Featurizer

    @abstractmethod
    def logits(self, features: Features) -> tuple[np.ndarray, np.ndarray]:
        """Intent logits ``[batch, intents]`` and slot logits ``[batch, words, labels]``."""

    def probabilities(
        self, texts: Sequence[str], locales: Sequence[str | None]
    ) -> list[UtteranceScores]:
        if not texts:
            return []
        words = [
            segment(text, locale, self.segmentation)
            for text, locale in zip(texts, locales, strict=True)
        ]
        intent_logits, slot_logits = self.logits(self.featurizer.batch(texts, words))
        intent_probs = softmax(intent_logits, axis=-1)
        slot_probs = softmax(slot_logits, axis=-1)
        return [
            UtteranceScores(sentence, intent_probs[row], slot_probs[row, : len(sentence)])
            for row, sentence in enumerate(words)
        ]
