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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDClassifier

from polynlu.data.massive import Example
from polynlu.errors import PolynluError
from polynlu.models.base import NLUModel, base_config, write_config
from polynlu.models.decoding import UtteranceScores
from polynlu.progress import LoggedProgress
from polynlu.text.segmentation import Word, segment

WEIGHTS_FILE = "weights.safetensors"


@dataclass(frozen=True)
class BaselineConfig:
    n_features: int = 2**17
    alpha: float = 2e-6
    epochs: int = 15
    seed: int = 0


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return result


class _Featurizer:
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


def _fit_linear(
    features: sp.csr_matrix, labels: Sequence[str], config: BaselineConfig
) -> tuple[list[str], np.ndarray, np.ndarray]:
    classifier = SGDClassifier(
        loss="log_loss",
        alpha=config.alpha,
        max_iter=config.epochs,
        tol=None,
        random_state=config.seed,
        n_jobs=-1,
    )
    classifier.fit(features, labels)
    classes = [str(c) for c in classifier.classes_]
    weight = classifier.coef_.astype(np.float16)
    bias = classifier.intercept_.astype(np.float16)
    if len(classes) == 2:  # scikit-learn keeps one weight row for two classes
        weight = np.vstack([-weight, weight])
        bias = np.concatenate([-bias, bias])
    return classes, weight, bias


class BaselineModel(NLUModel):
    kind = "baseline"

    def __init__(
        self,
        *,
        intents: list[str],
        slot_labels: list[str],
        tensors: dict[str, np.ndarray],
        train_locales: list[str],
        config: BaselineConfig,
        training: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(intents, slot_labels, train_locales)
        self._tensors = tensors
        self.config = config
        self.training = training or {}
        self._featurizer = _Featurizer(config.n_features)
        self._intent_weight = tensors["intent.weight"].astype(np.float32).T
        self._intent_bias = tensors["intent.bias"].astype(np.float32)
        self._idf = tensors["intent.idf"].astype(np.float64)
        self._slot_weight = tensors["slot.weight"].astype(np.float32).T
        self._slot_bias = tensors["slot.bias"].astype(np.float32)

    @classmethod
    def fit(
        cls,
        examples: Sequence[Example],
        config: BaselineConfig | None = None,
        *,
        show_progress: bool = True,
    ) -> BaselineModel:
        config = config or BaselineConfig()
        if not examples:
            raise PolynluError("no training examples")
        featurizer = _Featurizer(config.n_features)
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with LoggedProgress(*columns, disable=not show_progress) as progress:
            step = progress.add_task(f"Featurizing {len(examples):,} utterances")
            texts = [example.utt for example in examples]
            counts = featurizer.chars.transform(texts) + featurizer.words.transform(texts)
            document_frequency = np.bincount(counts.indices, minlength=config.n_features)
            idf = np.log((1 + len(texts)) / (1 + document_frequency)) + 1.0
            utterance_features = featurizer.utterances(texts, idf)
            slot_features = featurizer.slot_matrix([(e.words, e.intent) for e in examples])
            slot_targets = [label for example in examples for label in example.labels]

            progress.update(step, description=f"Fitting the intent classifier ({len(texts):,})")
            intents, intent_weight, intent_bias = _fit_linear(
                utterance_features, [e.intent for e in examples], config
            )
            progress.update(
                step, description=f"Fitting the slot classifier ({len(slot_targets):,} words)"
            )
            slot_labels, slot_weight, slot_bias = _fit_linear(slot_features, slot_targets, config)
        tensors = {
            "intent.weight": intent_weight,
            "intent.bias": intent_bias,
            "intent.idf": idf.astype(np.float32),
            "slot.weight": slot_weight,
            "slot.bias": slot_bias,
        }
        locales = sorted({example.locale for example in examples})
        training = {"examples": len(examples), "words": len(slot_targets)}
        return cls(
            intents=intents,
            slot_labels=slot_labels,
            tensors=tensors,
            train_locales=locales,
            config=config,
            training=training,
        )

    def score(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[UtteranceScores]:
        if not texts:
            return []
        features = self._featurizer.utterances(texts, self._idf)
        intent_probs = _softmax(features @ self._intent_weight + self._intent_bias)
        best = intent_probs.argmax(axis=1)
        words = [segment(text, locale) for text, locale in zip(texts, locales, strict=True)]
        predicted_intents = [self._intents[i] for i in best]
        slot_features = self._featurizer.slot_matrix(
            list(zip(words, predicted_intents, strict=True))
        )
        slot_probs = _softmax(slot_features @ self._slot_weight + self._slot_bias)
        ends = np.cumsum([len(sentence) for sentence in words])
        return [
            UtteranceScores(sentence, intent_probs[row], slot_probs[end - len(sentence) : end])
            for row, (sentence, end) in enumerate(zip(words, ends, strict=True))
        ]

    def set_threads(self, threads: int | None) -> None:
        """Nothing to set: hashing and a sparse dot product run on one thread."""

    def parameter_count(self) -> int:
        return sum(int(tensor.size) for tensor in self._tensors.values())

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        save_file(self._tensors, str(folder / WEIGHTS_FILE))
        write_config(
            folder,
            base_config(
                self,
                slot_labels=self._slot_labels,
                baseline=asdict(self.config),
                features={
                    "intent": "tf-idf (sublinear tf, l2) over hashed char_wb 1-4-grams "
                    "+ word 1-2-grams",
                    "slots": "hashed word, affix, shape, +-2 context and intent features",
                    "hashing": f"scikit-learn {sklearn.__version__} murmurhash3",
                },
                training=self.training,
            ),
        )

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any]) -> BaselineModel:
        path = folder / WEIGHTS_FILE
        if not path.is_file():
            raise PolynluError(f"{folder} has no {WEIGHTS_FILE}")
        try:
            tensors = load_file(str(path))
            return cls(
                intents=list(config["intents"]),
                slot_labels=list(config["slot_labels"]),
                tensors=tensors,
                train_locales=list(config["train_locales"]),
                config=BaselineConfig(**config["baseline"]),
                training=config.get("training"),
            )
        except (KeyError, TypeError, ValueError, OSError, SafetensorError) as error:
            raise PolynluError(f"{folder}: cannot load the baseline model: {error!r}") from error
