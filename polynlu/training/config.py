"""Training settings, in a module of their own so the CLI can show defaults without PyTorch.

These dataclasses are the one place each default lives: the CLI and the benchmarks only map
the options a user gives onto them (``polynlu.options.with_options``).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from polynlu.models.backbones.registry import DEFAULT_BACKBONE

if TYPE_CHECKING:
    from pathlib import Path

    from polynlu.data.example import Example


@dataclass(frozen=True)
class TrainConfig:
    """Fine-tuning the joint model."""

    backbone: str = DEFAULT_BACKBONE
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1.5e-4
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    freeze_embeddings: bool = True
    freeze_layers: int = 4
    """Also freeze the lowest N transformer layers: cheaper steps, and better transfer
    (the recipe sweep in docs/results.md chose 4)."""
    layer_decay: float = 1.0
    """Layer-wise learning-rate decay: layer ``i`` of ``L`` trains at ``lr * decay**(L - i)``."""
    max_length: int = 64
    dropout: float = 0.1
    patience: int = 2
    seed: int = 0
    device: str = "auto"
    eval_batch_size: int = 128
    selection_metric: str = "exact_match"
    checkpoint_every_s: float = 60.0
    """Write the checkpoint (and the best epoch's model) at most this often, and at the end:
    an epoch of a few examples takes less time than writing them."""
    anchor_weight: float = 0.0
    """Weight of the loss that keeps sentence embeddings near the untrained encoder's (see
    ``JointTrainer.loss``); 0 leaves the encoder free."""
    align_weight: float = 0.0
    """The same loss for a translation made for training (``TrainingData.anchor_sources``:
    lexicon adaptation), toward the untrained encoder's embedding of its English source
    instead of its own: it pulls the new language toward the old. 0 leaves translations to
    ``anchor_weight`` like any example."""
    min_epoch_examples: int = 0
    """Pass over smaller data again within an epoch until it holds this many examples: ten
    examples are one step an epoch, too few for epochs to mean anything."""
    prototype_scale: float = 20.0
    """Cosine similarity → logit for the intent prototypes (``models.prototypes``)."""
    prototype_weight: float = 0.0
    """The prototypes' share of the trained intents' probabilities. 0 keeps the head's
    answers, as the full-data figures were measured; intents added later still compete
    through their prototypes."""
    japanese_particles: bool = True
    """Give Japanese particles after a kanji or katakana word sub-words of their own, so
    that a slot can end before them (``polynlu.models.features.JAPANESE_PARTICLES``:
    +2.6 exact match, +4.0 slot F1 on ja-JP dev zero-shot)."""


FEW_SHOT_EXAMPLES_PER_INTENT = 20
"""Data whose median intent has at most this many examples trains with ``FEW_SHOT``."""
FEW_SHOT_MAX_EXAMPLES = 1_000
"""So does data of fewer examples than this, however they are spread: the full-data recipe's
five epochs of 32 would make fewer than 160 steps of them (70 queries of one Snips 2017
intent made 15 steps and scored 0.0 slot F1; the few-shot recipe scored 64.8)."""

FEW_SHOT = TrainConfig(
    epochs=10,
    batch_size=16,
    freeze_layers=8,
    patience=10,
    min_epoch_examples=640,
    anchor_weight=3.0,
    prototype_weight=0.3,
)
"""The few-shot recipe, chosen by measurement (docs/results.md, "Few examples"). More of the
encoder frozen, and the anchor that keeps sentence embeddings near the untrained encoder's,
keep its languages aligned: at 10 examples an intent the anchor alone raised zero-shot
intent accuracy by 4.2 points. An epoch is at least 40 steps of 16 (ten examples of each of
60 intents make 38), so any few-shot data trains 400 steps."""


ALIGN_WEIGHT = 3.0
"""``align_weight`` where ``polynlu train --adapt-align`` turns it on: the few-shot anchor's."""
FEW_SHOT_ONE_INTENT = replace(FEW_SHOT, freeze_layers=4, anchor_weight=0.0)
"""The few-shot recipe for data of a single intent, where only slots are learned. The anchor
and the frozen layers keep the sentence embeddings that intents are told apart by; they cost
slots (on MASSIVE at k = 10 the anchor moved zero-shot slot F1 from 34.3 to 33.2). On one
draw of a Snips 2017 intent (BookRestaurant) this recipe scored 38.2 slot F1 at 10 queries
and 80.3 at 70, against the few-shot recipe's 21.5 and 64.8."""


def is_few_shot(train: Sequence[Example]) -> bool:
    """Whether ``train`` is too small for the full-data recipe: its median intent has at most
    ``FEW_SHOT_EXAMPLES_PER_INTENT`` examples, or it has fewer than ``FEW_SHOT_MAX_EXAMPLES``."""
    counts = Counter(example.intent for example in train)
    if not counts:
        return False
    few_each = statistics.median(counts.values()) <= FEW_SHOT_EXAMPLES_PER_INTENT
    return few_each or len(train) < FEW_SHOT_MAX_EXAMPLES


def recipe_for(train: Sequence[Example], *, seed: int = 0) -> TrainConfig:
    """The measured best joint recipe for this much data: ``FEW_SHOT`` for a handful of
    examples an intent (``FEW_SHOT_ONE_INTENT`` where there is one intent), else
    ``TrainConfig``'s defaults (measured on MASSIVE's full data)."""
    if not is_few_shot(train):
        return replace(TrainConfig(), seed=seed)
    one_intent = len({example.intent for example in train}) == 1
    return replace(FEW_SHOT_ONE_INTENT if one_intent else FEW_SHOT, seed=seed)


@dataclass(frozen=True)
class BaselineConfig:
    """Fitting the baseline's two linear classifiers."""

    n_features: int = 2**17
    """Size of the hashed feature space."""
    alpha: float = 2e-6
    epochs: int = 15
    seed: int = 0


@dataclass(frozen=True)
class StudentSettings:
    """The student a teacher is distilled into, and how it learns from the teacher."""

    layers: int = 6
    hidden: int | None = None
    """None keeps the teacher's width (and its weights); another width starts from random."""
    vocab_size: int | None = 42_000
    """Most sub-words kept (the most frequent in the distillation texts); None keeps every one
    the texts use."""
    temperature: float = 2.0
    gold_weight: float = 1.0
    """Weight of the gold-label loss on the teacher's training locales."""
    start_from: str | None = None
    """A student folder to keep training; ``layers``, ``hidden`` and ``vocab_size`` are then
    its own."""


@dataclass(frozen=True)
class DistillConfig:
    """Teacher → student: the student, the unlabelled text it learns on, and the run.

    The defaults are the recipe that met the student's accuracy and size targets (the 6-layer,
    42,000-sub-word student, 4 epochs, then two 1-epoch rounds on fresh unlabelled text;
    docs/results.md, "Teacher → student")."""

    student: StudentSettings = field(default_factory=StudentSettings)
    training: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=4, learning_rate=2e-4, freeze_layers=0)
    )
    """The run (the backbone and ``max_length`` are the teacher's). Every layer trains."""
    unlabeled_per_locale: int | None = 1000
    """At most this many unlabelled utterances of each locale the teacher was not trained on."""
    fresh_rounds: int = 2
    """After training, this many rounds of one more epoch each, every round on another sample
    of the unlabelled text (the seed plus the round's number)."""
    fresh_learning_rate: float = 1e-4


SELF_TRAINING_EPOCHS = 2
SELF_TRAINING_LEARNING_RATE = 1e-4
SELF_TRAINING_PER_LOCALE = 200
"""Unlabelled utterances a locale that ``polynlu self-train`` learns on by default: what
MASSIVE's unlabelled rung measured (docs/results.md, "Every rung of supervision")."""


def self_training(
    model: str | Path, labelled: Sequence[Example], *, seed: int = 0
) -> DistillConfig:
    """Self-training as measured on MASSIVE: the model at ``model`` keeps learning, as its own
    student, from its temperature-softened answers on unlabelled text and from the gold of
    ``labelled``, with the recipe that data chooses (``recipe_for``), for
    ``SELF_TRAINING_EPOCHS`` epochs at ``SELF_TRAINING_LEARNING_RATE``, and no fresh rounds."""
    return DistillConfig(
        student=StudentSettings(start_from=str(model)),
        training=replace(
            recipe_for(labelled, seed=seed),
            epochs=SELF_TRAINING_EPOCHS,
            learning_rate=SELF_TRAINING_LEARNING_RATE,
        ),
        unlabeled_per_locale=SELF_TRAINING_PER_LOCALE,
        fresh_rounds=0,
    )
