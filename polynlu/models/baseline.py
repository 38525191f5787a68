"""A small, honest baseline: hashed n-grams and linear classifiers for intents and slots.

It is the yardstick that the neural models must beat, and it trains in seconds. Features are
hashed (scikit-learn's ``HashingVectorizer``/``FeatureHasher``), so the model's only state is
its weight matrices: they are saved as safetensors and the feature recipe as JSON, and
inference is a sparse matrix product. Weights are rounded to float16 right after training, so
the model in memory and the model on disk give identical predictions.

- intent: TF-IDF over character 1–4-grams and word 1–2-grams → linear classifier;
- slots: one label per benchmark word (MASSIVE's slot type, or ``Other``) from the word, its
  affixes, its neighbours and the predicted intent → linear classifier; runs of equal labels
  become slots.

Confidences are softmaxes of the linear scores: uncalibrated.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file
from scipy.special import softmax
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer

from polynlu.errors import PolynluError
from polynlu.models.base import NLUModel
from polynlu.models.config import KindSettings, ModelConfig
from polynlu.models.decoding import UtteranceScores
from polynlu.text.segmentation import Word, segment

WEIGHTS_FILE = "weights.safetensors"
FEATURES = {
    "intent": "tf-idf (sublinear tf, l2) over hashed char_wb 1-4-grams + word 1-2-grams",
    "slots": "hashed word, affix, shape, +-2 context and intent features",
}


class BaselineSettings(KindSettings):
    n_features: int = 2**17
    """Size of the hashed feature space (both classifiers)."""


class BaselineFeaturizer:
    """The feature recipe; stateless apart from its settings, so it needs no saving."""

    def __init__(self, n_features: int) -> None:
        self.chars = HashingVectorizer(
            analyzer="char_wb",
            ngram_range=(1, 4),
            n_features=n_features,
            alternate_sign=False,
            norm=None,
        )
        self.words = HashingVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            token_pattern=r"\S+",
            n_features=n_features,
            alternate_sign=False,
            norm=None,
        )
        self.word_hasher = FeatureHasher(
            n_features=n_features, input_type="string", alternate_sign=False
        )

    def utterances(self, texts: Sequence[str], idf: np.ndarray) -> sp.csr_matrix:
        counts = self.chars.transform(texts) + self.words.transform(texts)
        counts.data = 1.0 + np.log(counts.data)  # sublinear term frequency
        weighted = counts @ sp.diags(idf)
        norms = np.sqrt(weighted.multiply(weighted).sum(axis=1)).A1
        norms[norms == 0] = 1.0
        normalized: sp.csr_matrix = sp.diags(1.0 / norms) @ weighted
        return normalized.tocsr()

    def words_of(self, words: Sequence[Word], intent: str) -> Iterator[list[str]]:
        lowered = [word.text.lower() for word in words]
        padded = ["<s2>", "<s1>", *lowered, "</s1>", "</s2>"]
        for index, word in enumerate(lowered):
            at = index + 2
            yield [
                "bias",
                f"w={word}",
                f"p3={word[:3]}",
                f"s3={word[-3:]}",
                f"s2={word[-2:]}",
                f"shape={_shape(words[index].text)}",
                f"w-2={padded[at - 2]}",
                f"w-1={padded[at - 1]}",
                f"w+1={padded[at + 1]}",
                f"w+2={padded[at + 2]}",
                f"w-1|w={padded[at - 1]}|{word}",
                f"w|w+1={word}|{padded[at + 1]}",
                f"intent={intent}",
                f"intent|w={intent}|{word}",
            ]

    def slot_matrix(self, sentences: Sequence[tuple[Sequence[Word], str]]) -> sp.csr_matrix:
        rows = (f for words, intent in sentences for f in self.words_of(words, intent))
        matrix: sp.csr_matrix = self.word_hasher.transform(rows)
        return matrix


def _shape(text: str) -> str:
    """Coarse word shape: digits, letters case and other characters, runs collapsed."""
    shape: list[str] = []
    for char in text:
        kind = "d" if char.isdigit() else "X" if char.isupper() else "x" if char.isalpha() else char
        if not shape or shape[-1] != kind:
            shape.append(kind)
    return "".join(shape[:6])


class BaselineModel(NLUModel):
    kind = "baseline"
    settings_type = BaselineSettings

    def __init__(
        self,
        *,
        intents: list[str],
        slot_labels: list[str],
        tensors: dict[str, np.ndarray],
        train_locales: list[str],
        settings: BaselineSettings,
    ) -> None:
        super().__init__(intents, slot_labels, train_locales)
        self._tensors = tensors
        self.settings = settings
        self._featurizer = BaselineFeaturizer(settings.n_features)
        self.provenance.description = FEATURES
        # C-contiguous: SciPy copies a transposed view on every sparse × dense product.
        self._intent_weight = np.ascontiguousarray(tensors["intent.weight"].astype(np.float32).T)
        self._intent_bias = tensors["intent.bias"].astype(np.float32)
        self._idf = tensors["intent.idf"].astype(np.float64)
        self._slot_weight = np.ascontiguousarray(tensors["slot.weight"].astype(np.float32).T)
        self._slot_bias = tensors["slot.bias"].astype(np.float32)

    def probabilities(
        self, texts: Sequence[str], locales: Sequence[str | None]
    ) -> list[UtteranceScores]:
        if not texts:
            return []
        # Sparse sides in float32 too: a float64 one would upcast the whole weight matrix.
        features = self._featurizer.utterances(texts, self._idf).astype(np.float32)
        intent_probs = softmax(features @ self._intent_weight + self._intent_bias, axis=1)
        best = intent_probs.argmax(axis=1)
        words = [
            segment(text, locale, self.segmentation)
            for text, locale in zip(texts, locales, strict=True)
        ]
        predicted_intents = [self._intents[i] for i in best]
        slot_features = self._featurizer.slot_matrix(
            list(zip(words, predicted_intents, strict=True))
        ).astype(np.float32)
        slot_probs = softmax(slot_features @ self._slot_weight + self._slot_bias, axis=1)
        ends = np.cumsum([len(sentence) for sentence in words])
        return [
            UtteranceScores(sentence, intent_probs[row], slot_probs[end - len(sentence) : end])
            for row, (sentence, end) in enumerate(zip(words, ends, strict=True))
        ]

    def set_threads(self, threads: int | None) -> None:
        """Nothing to set: hashing and a sparse dot product run on one thread."""

    def parameter_count(self) -> int:
        return sum(int(tensor.size) for tensor in self._tensors.values())

    def kind_settings(self) -> BaselineSettings:
        return self.settings

    def save_weights(self, folder: Path) -> None:
        save_file(self._tensors, str(folder / WEIGHTS_FILE))
        self.provenance.libraries = {
            **self.provenance.libraries,
            "scikit-learn": f"{sklearn.__version__} (murmurhash3 feature hashing)",
        }

    @classmethod
    def load(cls, folder: Path, config: ModelConfig[Any]) -> BaselineModel:
        path = folder / WEIGHTS_FILE
        if not path.is_file():
            raise PolynluError(f"{folder} has no {WEIGHTS_FILE}")
        try:
            return cls(
                intents=config.intents,
                slot_labels=config.slot_labels,
                tensors=load_file(str(path)),
                train_locales=config.train_locales,
                settings=config.settings,
            )
        except (KeyError, TypeError, ValueError, OSError, SafetensorError) as error:
            raise PolynluError(f"{folder}: cannot load the baseline model: {error!r}") from error
