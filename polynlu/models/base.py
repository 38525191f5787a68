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
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from polynlu.errors import PolynluError
from polynlu.models.calibration import Calibration
from polynlu.models.config import (
    CONFIG_FILE,
    KindSettings,
    ModelConfig,
    Provenance,
    migrate,
    read_config_json,
    validate_config,
    write_model_config,
)
from polynlu.models.decoding import UtteranceScores, interpret
from polynlu.registry import Registry
from polynlu.text.segmentation import Segmentation
from polynlu.text.spans import OUTSIDE
from polynlu.types import Interpretation


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

    @property
    def intents(self) -> list[str]:
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

    def predict(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[Interpretation]:
        """Interpret a batch of utterances (``locales[i]`` may be None when unknown)."""
        results = [
            interpret(text, locale, scores, self._intents, self._slot_labels, self.calibration)
            for text, locale, scores in zip(
                texts, locales, self.probabilities(texts, locales), strict=True
            )
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
            provenance=self.provenance,
        )

    def save(self, folder: Path) -> None:
        """Write the whole model into ``folder``; ``load_model(folder)`` reads it back."""
        folder.mkdir(parents=True, exist_ok=True)
        self.save_weights(folder)
        self.save_config(folder)

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
    return model
