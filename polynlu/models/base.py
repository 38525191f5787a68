"""The one interface every model kind implements, and the registry that finds a kind by name.

``evaluate``, ``serve`` and the CLI only ever talk to ``NLUModel``; a saved model folder says
its kind in ``config.json`` and the registry imports that kind's module on demand, so loading
a baseline never imports PyTorch.
"""

from __future__ import annotations

import importlib
import json
import platform
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from polynlu.errors import PolynluError
from polynlu.models.calibration import Calibration
from polynlu.models.decoding import UtteranceScores, interpret
from polynlu.text.spans import OUTSIDE
from polynlu.types import Interpretation

CONFIG_FILE = "config.json"
FORMAT_NAME = "polynlu-model"
FORMAT_VERSION = 1

# kind -> "module:Class"; imported lazily so a kind's heavy dependencies load only when used.
MODEL_KINDS: dict[str, str] = {
    "baseline": "polynlu.models.baseline:BaselineModel",
    "joint": "polynlu.models.joint:JointModel",
    "onnx": "polynlu.models.onnx:OnnxModel",
}


class NLUModel(ABC):
    """A trained intent + slot model. Subclasses pass their label sets to ``__init__`` and
    implement ``score``; decoding scores into an ``Interpretation`` is shared."""

    kind: ClassVar[str]

    def __init__(
        self, intents: list[str], slot_labels: list[str], train_locales: list[str]
    ) -> None:
        if OUTSIDE not in slot_labels:
            raise PolynluError(f"the slot labels must include '{OUTSIDE}'")
        self._intents = list(intents)
        self._slot_labels = list(slot_labels)
        self._train_locales = list(train_locales)
        self.calibration = Calibration()

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

    @abstractmethod
    def score(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[UtteranceScores]:
        """Uncalibrated intent and per-word slot probabilities for a batch of utterances
        (``locales[i]`` may be None when unknown)."""

    def predict(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[Interpretation]:
        """Interpret a batch of utterances (``locales[i]`` may be None when unknown)."""
        return [
            interpret(text, locale, scores, self._intents, self._slot_labels, self.calibration)
            for text, locale, scores in zip(texts, locales, self.score(texts, locales), strict=True)
        ]

    @abstractmethod
    def set_threads(self, threads: int | None) -> None:
        """Compute with this many intra-op threads (None: the runtime's default). Serving
        sets it per worker, so that workers × threads matches the cores."""

    @abstractmethod
    def parameter_count(self) -> int:
        """Numbers in the model (weights of every tensor, frozen ones included)."""

    @abstractmethod
    def save(self, folder: Path) -> None:
        """Write the model into ``folder`` (config.json + safetensors, never pickle)."""

    @classmethod
    @abstractmethod
    def load(cls, folder: Path, config: dict[str, Any]) -> NLUModel:
        """Read a folder written by ``save``; ``config`` is its parsed config.json."""


def base_config(model: NLUModel, **extra: Any) -> dict[str, Any]:
    """The fields every saved model's config.json carries, so any folder can be audited."""
    from polynlu import __version__

    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kind": model.kind,
        "polynlu_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "intents": model.intents,
        "slot_types": model.slot_types,
        "train_locales": model.train_locales,
        "calibration": model.calibration.to_config(),
        **extra,
    }


NOT_THE_MODEL = frozenset({"checkpoint", "checkpoint.partial", "eval"})
"""Folders a model folder may also hold: training checkpoints and evaluation reports."""


def model_size_bytes(folder: Path) -> int:
    """Bytes of the model's own files, checkpoints and evaluation reports left out."""
    return sum(
        path.stat().st_size
        for path in folder.rglob("*")
        if path.is_file() and not NOT_THE_MODEL & set(path.relative_to(folder).parts)
    )


def write_config(folder: Path, config: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(config, indent=2, ensure_ascii=False)
    (folder / CONFIG_FILE).write_text(text + "\n", "utf-8")


def read_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise PolynluError(f"{folder} is not a polynlu model: it has no {CONFIG_FILE}")
    try:
        config = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as error:
        raise PolynluError(f"{path}: invalid JSON: {error}") from error
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise PolynluError(f"{path} is not a polynlu model config (no format '{FORMAT_NAME}')")
    if config.get("kind") not in MODEL_KINDS:
        raise PolynluError(
            f"{path}: unknown model kind {config.get('kind')!r} (known: {', '.join(MODEL_KINDS)})"
        )
    return config


def model_class(kind: str) -> type[NLUModel]:
    module_name, _, class_name = MODEL_KINDS[kind].partition(":")
    cls: type[NLUModel] = getattr(importlib.import_module(module_name), class_name)
    return cls


def load_model(folder: str | Path) -> NLUModel:
    folder = Path(folder)
    if not folder.is_dir():
        raise PolynluError(f"model folder '{folder}' not found")
    config = read_config(folder)
    model = model_class(config["kind"]).load(folder, config)
    model.calibration = Calibration.from_config(config.get("calibration"))
    return model
