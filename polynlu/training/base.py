"""One interface for training any model kind, and the registry that finds a kind's trainer.

A trainer is built from its kind's config dataclass and an output folder, and ``fit`` takes
``TrainingData`` and returns the trained model, saved in that folder. ``polynlu train --model
KIND`` finds the trainer in ``TRAINERS`` and maps the options given onto ``config_type``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from polynlu.data.example import Example
from polynlu.data.lexicons import Lexicon
from polynlu.models.base import NLUModel
from polynlu.registry import Registry
from polynlu.text.segmentation import Segmentation


@dataclass(frozen=True)
class TrainingData:
    train: Sequence[Example]
    """Labelled utterances to learn from."""
    dev: Sequence[Example] = ()
    """Held-out labelled utterances to choose the best epoch with (kinds that have epochs)."""
    unlabelled: Sequence[Example] = ()
    """Utterances whose labels must not be read (distillation, self-training)."""
    source: str | None = None
    """Where the data came from, recorded in the model's training record."""
    segmentation: Segmentation = "benchmark"
    """The words the labels are on (``DataSet.segmentation``); the model learns and keeps it."""
    slot_values: dict[str, dict[str, str]] = field(default_factory=dict)
    """``DataSet.slot_values()``: the synonyms the model applies to the slots it finds."""
    anchor_sources: Mapping[Example, Example] = field(default_factory=dict)
    """A training example made by translation → the example it translates: the joint
    trainer's ``align_weight`` pulls the one's sentence embedding toward the other's."""
    lexicons: Mapping[str, Lexicon] = field(default_factory=dict)
    """Lexicons of the languages trained for: the joint trainer gives the words of those in a
    script its tokenizer lacks pieces of their own before training
    (``JointModel.extend_vocabulary``)."""


class Trainer(ABC):
    config_type: ClassVar[type[Any]]
    """The dataclass of this trainer's settings; its defaults are the defaults."""

    def __init__(self, config: Any, output: Path, *, show_progress: bool = True) -> None:
        self.config = config
        self.output = output
        self.show_progress = show_progress

    @abstractmethod
    def fit(self, data: TrainingData, *, resume: bool = False) -> NLUModel:
        """Train on ``data``, save the model to ``output`` and return it. ``resume``
        continues from a checkpoint in ``output`` where the kind keeps one."""


TRAINERS: Registry[type[Trainer]] = Registry("trainer", entry_point_group="polynlu.trainers")
"""Model kind → the trainer that makes models of that kind."""
TRAINERS.register_lazy(
    "joint",
    "polynlu.training.trainer:JointTrainer",
    summary="a multilingual encoder with intent and slot heads",
)
TRAINERS.register_lazy(
    "baseline",
    "polynlu.training.baseline:BaselineTrainer",
    summary="hashed n-grams and linear classifiers, seconds to train",
)
