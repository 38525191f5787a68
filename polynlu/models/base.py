"""The one interface every model kind implements, and the registry that finds a kind by name.

``evaluate``, ``serve`` and the CLI only ever talk to ``NLUModel``. A saved model folder says
its kind in ``config.json`` (a ``ModelConfig``); ``MODEL_KINDS`` imports that kind's module
on demand, so loading a baseline never imports PyTorch.

A new kind is one module: a subclass of ``NLUModel`` with its ``KindSettings``, registered with
``@MODEL_KINDS.register("name")`` (or an entry point in ``polynlu.model_kinds``), and a trainer
registered in ``polynlu.training.TRAINERS``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from polynlu.data.example import Example
from polynlu.errors import CannotLearnError, PolynluError
from polynlu.models.calibration import Calibration
from polynlu.models.config import (
    CONFIG_FILE,
    PROTOTYPES_FILE,
    KindSettings,
    ModelConfig,
    PrototypeSettings,
    Provenance,
    migrate,
    read_config_json,
    validate_config,
    write_model_config,
)
from polynlu.models.decoding import UtteranceScores, interpret
from polynlu.models.prototypes import IntentPrototypes
from polynlu.registry import Registry
from polynlu.text.segmentation import Segmentation
from polynlu.text.spans import OUTSIDE
from polynlu.types import Interpretation

if TYPE_CHECKING:
    from polynlu.data.lexicons import Lexicon
    from polynlu.models.backbones.vocabulary import VocabularyExtension


class NLUModel(ABC):
    """A trained intent + slot model. Subclasses pass their label sets to ``__init__``,
    compute ``probabilities`` and save and load their weights; decoding, calibration and the
    config file are shared."""

    kind: ClassVar[str]
    settings_type: ClassVar[type[KindSettings]]
    """The kind's sub-config in ``config.json`` (``ModelConfig.settings``)."""

    def __init__(
        self, intents: list[str], slot_labels: list[str], train_locales: list[str]
    ) -> None:
        if OUTSIDE not in slot_labels:
            raise PolynluError(f"the slot labels must include '{OUTSIDE}'")
        self._intents = list(intents)
        self._slot_labels = list(slot_labels)
        self._train_locales = list(train_locales)
        self.calibration = Calibration()
        self.provenance = Provenance()
        self.segmentation: Segmentation = "benchmark"
        """The words this model labels; set from its training data, saved in its config."""
        self.slot_values: dict[str, dict[str, str]] = {}
        """The data's synonyms (``ModelConfig.slot_values``), for ``Slot.normalized``."""
        self.prototypes: IntentPrototypes | None = None
        """Set by training for kinds with sentence embeddings: ``add_examples`` needs them."""
        self.added_examples: list[Example] = []
        """Examples given to ``add_examples`` since training, saved as ``ADDED_EXAMPLES``."""

    @property
    def intents(self) -> list[str]:
        """Every intent the model answers: the trained head's, then any added since."""
        prototypes = self.prototypes
        return list(prototypes.intents) if prototypes is not None else list(self._intents)

    @property
    def head_intents(self) -> list[str]:
        """The intents the model was trained on, in its head's order."""
        return list(self._intents)

    @property
    def slot_labels(self) -> list[str]:
        """Every word label the model can predict, ``Other`` included."""
        return list(self._slot_labels)

    @property
    def slot_types(self) -> list[str]:
        return [label for label in self._slot_labels if label != OUTSIDE]

    @property
    def train_locales(self) -> list[str]:
        return list(self._train_locales)

    @property
    def training(self) -> dict[str, Any]:
        """How the model was trained (configuration, data sizes, history): provenance."""
        return self.provenance.training

    @training.setter
    def training(self, value: dict[str, Any]) -> None:
        self.provenance.training = value

    @property
    def backbone_name(self) -> str | None:
        """The encoder the model is built on, if it has one."""
        return None

    @abstractmethod
    def probabilities(
        self, texts: Sequence[str], locales: Sequence[str | None]
    ) -> list[UtteranceScores]:
        """Uncalibrated intent and per-word slot probabilities for a batch of utterances
        (``locales[i]`` may be None when unknown)."""

    def sentence_embeddings(
        self, texts: Sequence[str], locales: Sequence[str | None]
    ) -> np.ndarray:
        """One embedding per text ``[texts, hidden]``, for intent prototypes."""
        raise CannotLearnError(
            f"a {self.kind} model has no sentence embeddings, so it cannot take examples "
            "without retraining: add them to the data and train again, or train a joint model"
        )

    def extend_vocabulary(
        self, lexicons: Mapping[str, Lexicon], *, record: bool = True
    ) -> VocabularyExtension | None:
        """Give the words of ``lexicons`` in scripts the model's tokenizer lacks pieces of
        their own (``models.backbones.vocabulary``); None for kinds whose vocabulary cannot
        grow (the baseline's hashed n-grams, an exported graph). ``record`` adds it to the
        provenance: leave it out for an extension made in memory at load, which the folder's
        weights do not have."""
        return None

    def check_can_learn(self) -> None:
        """Raise ``CannotLearnError``, saying why, if this model cannot take examples."""
        if self.prototypes is None:
            self.sentence_embeddings([], [])  # a kind without embeddings says why it cannot
            raise CannotLearnError(
                "this model was trained before intent prototypes existed: train it again to "
                "add examples to it"
            )

    def add_examples(self, intent: str, examples: Sequence[Example]) -> None:
        """Add ``examples`` of ``intent`` (new, or one the model knows) with immediate effect,
        through the intent's prototype (``models.prototypes``); the model's slot types only."""
        self.check_can_learn()
        if not examples:
            raise PolynluError("no examples to add")
        known = set(self.slot_types)
        for example in examples:
            unknown = sorted({span.label for span in example.slots} - known)
            if unknown:
                raise PolynluError(
                    f"example {example.utt!r}: slot type(s) {', '.join(unknown)} are not in "
                    f"this model (its slot types: {', '.join(sorted(known)) or 'none'}); new "
                    "slot types need training"
                )
        embeddings = self.sentence_embeddings(
            [e.utt for e in examples], [e.locale for e in examples]
        )
        assert self.prototypes is not None  # check_can_learn
        self.prototypes = self.prototypes.add(intent, embeddings)
        self.added_examples = [*self.added_examples, *examples]

    def predict(
        self,
        texts: Sequence[str],
        locales: Sequence[str | None],
        readings: Sequence[str | None] | None = None,
    ) -> list[Interpretation]:
        """Interpret a batch of utterances (``locales[i]`` may be None when unknown).
        ``readings[i]``, where given, is the same utterance in words the model knows better
        (``NLU.reader``): the intent is chosen from the average of both texts' intent
        probabilities; the slots stay the utterance's own."""
        scores = self.probabilities(texts, locales)
        read = [i for i, reading in enumerate(readings or ()) if reading]
        if readings is not None and read:
            english = self.probabilities([readings[i] or "" for i in read], [None] * len(read))
            for i, other in zip(read, english, strict=True):
                mean = (scores[i].intent_probs + other.intent_probs) / 2
                scores[i] = replace(scores[i], intent_probs=mean)
        results = [
            interpret(text, locale, score, self._intents, self._slot_labels, self.calibration)
            for text, locale, score in zip(texts, locales, scores, strict=True)
        ]
        return [self._normalized(result) for result in results] if self.slot_values else results

    def _normalized(self, result: Interpretation) -> Interpretation:
        slots = []
        for slot in result.slots:
            key = slot.value.casefold().strip()
            canonical = self.slot_values.get(slot.slot, {}).get(key)
            canonical = canonical or self.slot_values.get("", {}).get(key)
            slots.append(replace(slot, normalized=canonical) if canonical else slot)
        return replace(result, slots=tuple(slots))

    @abstractmethod
    def set_threads(self, threads: int | None) -> None:
        """Compute with this many intra-op threads (None: the runtime's default). Serving
        sets it per worker, so that workers × threads matches the cores."""

    @abstractmethod
    def parameter_count(self) -> int:
        """Numbers in the model (weights of every tensor, frozen ones included)."""

    @abstractmethod
    def kind_settings(self) -> KindSettings:
        """This model's ``settings_type``: what ``load`` needs besides labels and weights."""

    @abstractmethod
    def save_weights(self, folder: Path) -> None:
        """Write the weights and whatever else the kind keeps beside ``config.json``
        (safetensors, a tokenizer, an ONNX graph: never pickle)."""

    @classmethod
    @abstractmethod
    def load(cls, folder: Path, config: ModelConfig[Any]) -> NLUModel:
        """Rebuild the model from ``folder``; ``config`` is its validated config.json, whose
        calibration and provenance ``load_model`` sets afterwards."""

    def config(self) -> ModelConfig[KindSettings]:
        return ModelConfig[KindSettings](
            kind=self.kind,
            intents=self._intents,
            slot_labels=self._slot_labels,
            train_locales=self._train_locales,
            calibration=self.calibration,
            segmentation=self.segmentation,
            slot_values=self.slot_values,
            settings=self.kind_settings(),
            prototypes=None
            if self.prototypes is None
            else PrototypeSettings(
                scale=self.prototypes.scale,
                weight=self.prototypes.weight,
                added_intents=self.prototypes.added_intents,
            ),
            provenance=self.provenance,
        )

    def save(self, folder: Path) -> None:
        """Write the whole model into ``folder``; ``load_model(folder)`` reads it back."""
        folder.mkdir(parents=True, exist_ok=True)
        self.save_weights(folder)
        self.save_additions(folder)
        self.save_config(folder)

    def save_additions(self, folder: Path) -> None:
        """Write the prototypes and the added examples (or remove stale ones): after
        ``add_examples``, this and ``save_config`` save what changed, without the weights."""
        for name, present in (
            (PROTOTYPES_FILE, self.prototypes is not None),
            (ADDED_EXAMPLES, bool(self.added_examples)),
        ):
            if not present:
                (folder / name).unlink(missing_ok=True)
        if self.prototypes is not None:
            self.prototypes.save(folder)
        if self.added_examples:
            from polynlu.data.example import DataSet
            from polynlu.data.formats import write_data

            data = DataSet(list(self.added_examples), "polynlu", str(folder / ADDED_EXAMPLES))
            scratch = folder / f".{ADDED_EXAMPLES}.partial"
            write_data(data, scratch, "polynlu")
            scratch.replace(folder / ADDED_EXAMPLES)

    def save_config(self, folder: Path) -> None:
        """Rewrite only ``config.json``: after calibrating, or adding to the training record,
        without writing the weights again."""
        write_model_config(folder, self.config())


MODEL_KINDS: Registry[type[NLUModel]] = Registry(
    "model kind", entry_point_group="polynlu.model_kinds"
)
MODEL_KINDS.register_lazy(
    "joint", "polynlu.models.joint:JointModel", summary="a multilingual encoder with two heads"
)
MODEL_KINDS.register_lazy(
    "baseline",
    "polynlu.models.baseline:BaselineModel",
    summary="hashed n-grams and linear classifiers",
)
MODEL_KINDS.register_lazy(
    "onnx", "polynlu.models.onnx:OnnxModel", summary="an exported joint model on onnxruntime"
)

ADDED_EXAMPLES = "added_examples.yml"
"""Examples added since training, in polynlu's YAML: ``polynlu train --with-added`` reads them."""

NOT_THE_MODEL = frozenset({"checkpoint", "checkpoint.partial", "eval"})
"""Folders a model folder may also hold: training checkpoints and evaluation reports."""


def model_size_bytes(folder: Path) -> int:
    """Bytes of the model's own files, checkpoints and evaluation reports left out."""
    return sum(
        path.stat().st_size
        for path in folder.rglob("*")
        if path.is_file() and not NOT_THE_MODEL & set(path.relative_to(folder).parts)
    )


def read_model_config(folder: str | Path) -> ModelConfig[KindSettings]:
    """The folder's validated ``config.json`` (imports the kind's module to check its
    settings); a one-line ``PolynluError`` naming the file and field otherwise."""
    folder = Path(folder)
    raw = read_config_json(folder)
    path = folder / CONFIG_FILE
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in MODEL_KINDS:
        raise PolynluError(
            f"{path}: unknown model kind {kind!r} (available: {', '.join(MODEL_KINDS.names())})"
        )
    settings_type: type[KindSettings] = MODEL_KINDS.get(kind).settings_type
    return validate_config(migrate(raw, path), settings_type, path)


def load_model(folder: str | Path) -> NLUModel:
    folder = Path(folder)
    config = read_model_config(folder)
    model = MODEL_KINDS.get(config.kind).load(folder, config)
    model.calibration = config.calibration
    model.provenance = config.provenance
    model.segmentation = config.segmentation
    model.slot_values = config.slot_values
    if config.prototypes is not None:
        model.prototypes = _load_prototypes(folder, config)
        model.added_examples = read_added_examples(folder)
    return model


def _load_prototypes(folder: Path, config: ModelConfig[KindSettings]) -> IntentPrototypes:
    assert config.prototypes is not None
    try:
        return IntentPrototypes.load(
            folder,
            config.intents,
            config.prototypes.added_intents,
            scale=config.prototypes.scale,
            weight=config.prototypes.weight,
        )
    except (OSError, ValueError, KeyError) as error:
        raise PolynluError(f"{folder / PROTOTYPES_FILE}: cannot load: {error}") from error


def read_added_examples(folder: Path) -> list[Example]:
    """The examples added to the model in ``folder`` since training (none if it has none)."""
    path = Path(folder) / ADDED_EXAMPLES
    if not path.is_file():
        return []
    from polynlu.data.formats import read_data

    return read_data(path, format="polynlu").examples
