"""Fitting the baseline: TF-IDF features for the intent, hashed word features for the slots,
and one SGD-trained logistic regression for each (see ``models.baseline``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict

import numpy as np
import scipy.sparse as sp
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn
from sklearn.linear_model import SGDClassifier

from polynlu.data.example import Example
from polynlu.errors import PolynluError
from polynlu.models.baseline import BaselineFeaturizer, BaselineModel, BaselineSettings
from polynlu.progress import LoggedProgress
from polynlu.training.base import Trainer, TrainingData
from polynlu.training.config import BaselineConfig


def _fit_linear(
    features: sp.csr_matrix, labels: Sequence[str], config: BaselineConfig
) -> tuple[list[str], np.ndarray, np.ndarray]:
    classes = sorted(set(labels))
    if len(classes) == 1:  # one intent, or no slots at all: nothing to separate
        weight = np.zeros((1, features.shape[1]), dtype=np.float16)
        return classes, weight, np.zeros(1, dtype=np.float16)
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
    # Rounded to float16 at once, so the model in memory answers as the saved one does.
    weight = classifier.coef_.astype(np.float16)
    bias = classifier.intercept_.astype(np.float16)
    if len(classes) == 2:  # scikit-learn keeps one weight row for two classes
        weight = np.vstack([-weight, weight])
        bias = np.concatenate([-bias, bias])
    return classes, weight, bias


class BaselineTrainer(Trainer):
    config_type = BaselineConfig
    config: BaselineConfig

    def fit(self, data: TrainingData, *, resume: bool = False) -> BaselineModel:
        """Fits in one pass (``resume`` has nothing to continue) and saves the model."""
        started = time.perf_counter()
        model = self.fit_examples(data.train)
        model.segmentation = data.segmentation
        model.slot_values = data.slot_values
        if data.source is not None:
            model.training["data"] = data.source
        model.training["seconds"] = round(time.perf_counter() - started, 1)
        model.save(self.output)
        return model

    def fit_examples(self, examples: Sequence[Example]) -> BaselineModel:
        """The model fitted on ``examples``, not saved."""
        config = self.config
        if not examples:
            raise PolynluError("no training examples")
        featurizer = BaselineFeaturizer(config.n_features)
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with LoggedProgress(*columns, disable=not self.show_progress) as progress:
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
        model = BaselineModel(
            intents=intents,
            slot_labels=slot_labels,
            tensors={
                "intent.weight": intent_weight,
                "intent.bias": intent_bias,
                "intent.idf": idf.astype(np.float32),
                "slot.weight": slot_weight,
                "slot.bias": slot_bias,
            },
            train_locales=sorted({example.locale for example in examples}),
            settings=BaselineSettings(n_features=config.n_features),
        )
        model.training = {
            "config": asdict(config),
            "examples": len(examples),
            "words": len(slot_targets),
        }
        return model
