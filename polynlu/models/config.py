"""A saved model's ``config.json``, as one typed, validated object: ``ModelConfig``.

What rebuilds the model (its kind, labels, training locales, calibration and the kind's own
``settings``) is kept apart from ``provenance`` (versions, dates, the training history), which
only audits it. Only ``polynlu.models`` reads or writes the file.

Folders written by older versions still load: ``migrate`` lifts a config to
``FORMAT_VERSION`` one version at a time, and each step is tested on a config as that version
wrote it.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError

from polynlu.errors import PolynluError
from polynlu.models.calibration import Calibration
from polynlu.text.segmentation import Segmentation

CONFIG_FILE = "config.json"
PROTOTYPES_FILE = "prototypes.safetensors"
"""The intent prototypes' arrays (``models.prototypes``), beside the config."""
FORMAT_NAME = "polynlu-model"
FORMAT_VERSION = 2


class KindSettings(BaseModel):
    """Base of each model kind's sub-config: what that kind needs, beyond its labels, to
    rebuild itself from its folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _polynlu_version() -> str:
    from polynlu import __version__

    return __version__


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Provenance(BaseModel):
    """How a model was made. Never needed to rebuild it; kept so that any folder can be
    audited (which version, which data and settings, how training went)."""

    model_config = ConfigDict(extra="forbid")

    polynlu_version: str = Field(default_factory=_polynlu_version)
    created: str = Field(default_factory=_now)
    python: str = Field(default_factory=platform.python_version)
    libraries: dict[str, str] = Field(default_factory=dict)
    """Versions of the libraries the weights depend on: ``{"torch": "2.13.0"}``."""
    description: dict[str, str] = Field(default_factory=dict)
    """Plain words on how the model computes (a feature recipe, say)."""
    training: dict[str, Any] = Field(default_factory=dict)
    """The training configuration, data sizes and per-epoch history."""
    vocabulary_extensions: list[dict[str, Any]] = Field(default_factory=list)
    """Pieces added to the tokenizer from lexicons, one record an extension
    (``polynlu.models.backbones.vocabulary``): per language, its lexicon and what it added."""
    exported_from: dict[str, Any] | None = None
    """For an exported model: the kind, backbone and training of the model it came from."""


class PrototypeSettings(BaseModel):
    """How a model with intent prototypes (``models.prototypes``) blends them with its head;
    the arrays are in ``prototypes.safetensors``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scale: float = Field(gt=0)
    weight: float = Field(ge=0, le=1)
    added_intents: list[str] = Field(default_factory=list)
    """Intents added after training (``NLU.add_examples``): the prototypes alone score them."""


SettingsT = TypeVar("SettingsT", bound=KindSettings)


class ModelConfig(BaseModel, Generic[SettingsT]):
    model_config = ConfigDict(extra="forbid")

    format: Literal["polynlu-model"] = "polynlu-model"
    format_version: Literal[2] = 2
    """Always ``FORMAT_VERSION``: older configs are migrated before they are validated."""
    kind: str
    intents: list[str]
    slot_labels: list[str]
    """Every word label the model predicts, ``Other`` included, in the heads' order."""
    train_locales: list[str]
    calibration: Calibration = Field(default_factory=Calibration)
    segmentation: Segmentation = "benchmark"
    """The words the model labels (``text.segmentation``), as its training data had them."""
    slot_values: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Slot type ('' for any) → a variant, case-folded → its canonical value: the data's
    synonyms, applied to every slot the model finds (``Slot.normalized``)."""
    settings: SerializeAsAny[SettingsT]
    prototypes: PrototypeSettings | None = None
    """Set when the model keeps intent prototypes and so can take examples without
    retraining; ``intents`` are then the head's, and ``prototypes.added_intents`` follow."""
    provenance: Provenance = Field(default_factory=Provenance)

    @property
    def slot_types(self) -> list[str]:
        from polynlu.text.spans import OUTSIDE

        return [label for label in self.slot_labels if label != OUTSIDE]

    @property
    def description(self) -> str:
        """``onnx int8`` or ``joint float32``: what kind of model a folder holds, in a few
        words (the CLI's headers, the benchmarks' results)."""
        quantization = getattr(self.settings, "quantization", None)
        return f"{self.kind} {quantization or 'float32'}"


def write_model_config(folder: Path, config: ModelConfig[Any]) -> None:
    """Write ``config.json`` whole, through a temporary file: a reader never sees half."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(config.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    scratch = folder / f".{CONFIG_FILE}.partial"
    scratch.write_text(text, "utf-8")
    scratch.replace(folder / CONFIG_FILE)


def read_config_json(folder: Path) -> dict[str, Any]:
    """``config.json`` as a plain dict, in whatever version wrote it (see ``migrate``)."""
    path = folder / CONFIG_FILE
    if not folder.is_dir():
        raise PolynluError(f"model folder '{folder}' not found")
    if not path.is_file():
        raise PolynluError(f"{folder} is not a polynlu model: it has no {CONFIG_FILE}")
    try:
        raw = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as error:
        raise PolynluError(f"{path}: invalid JSON: {error}") from error
    except UnicodeDecodeError as error:
        raise PolynluError(f"{path}: not UTF-8 text ({error.reason})") from error
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_NAME:
        raise PolynluError(f"{path} is not a polynlu model config (no format '{FORMAT_NAME}')")
    return raw


def validate_config(
    raw: dict[str, Any], settings_type: type[SettingsT], path: Path
) -> ModelConfig[SettingsT]:
    try:
        return ModelConfig[settings_type].model_validate(raw)  # type: ignore[valid-type]
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise PolynluError(f"{path}: {problems}") from None


def config_digest(folder: Path) -> str:
    """A short hash of ``config.json`` and the intent prototypes: it changes whenever the
    model is retrained, recalibrated or given examples, so a service can report which
    version of a model answered."""
    digest = hashlib.sha256((folder / CONFIG_FILE).read_bytes())
    if (folder / PROTOTYPES_FILE).is_file():
        digest.update((folder / PROTOTYPES_FILE).read_bytes())
    return digest.hexdigest()[:12]


# -- migrations: one function per version step, each taking and giving a plain dict ----------


def _v1_to_v2(old: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept everything at the top level, with the kind's settings under the kind's
    name (``joint``, ``baseline``) and versions, dates and history beside the labels."""
    kind = old["kind"]
    provenance: dict[str, Any] = {
        "polynlu_version": old.get("polynlu_version", "unknown"),
        "created": old.get("created", "unknown"),
        "python": old.get("python", "unknown"),
        "training": old.get("training") or {},
    }
    if kind == "joint":
        settings = {**old["joint"], "backbone": old.get("backbone")}
        if "torch" in old:
            provenance["libraries"] = {"torch": old["torch"]}
    elif kind == "baseline":
        baseline = old["baseline"]
        settings = {"n_features": baseline["n_features"]}
        provenance["training"] = {**provenance["training"], "config": baseline}
        provenance["description"] = old.get("features") or {}
    elif kind == "onnx":
        quantization = old.get("quantization")
        weight_scales = old.get("weight_scales")
        if quantization == "int8" and weight_scales is None:
            # Before weight_scales was recorded, "int8" meant one scale per matrix.
            quantization, weight_scales = "int8-per-tensor", "per-tensor"
        settings = {
            "max_length": old["joint"]["max_length"],
            "parameters": old["parameters"],
            "quantization": quantization,
            "weight_scales": weight_scales,
            "opset": old.get("opset"),
        }
        provenance["exported_from"] = old.get("exported_from")
    else:
        raise ValueError(f"no version-1 layout is known for the kind '{kind}'")
    return {
        "format": FORMAT_NAME,
        "format_version": 2,
        "kind": kind,
        "intents": old["intents"],
        "slot_labels": old["slot_labels"],
        "train_locales": old["train_locales"],
        "calibration": old.get("calibration") or {},
        "settings": settings,
        "provenance": provenance,
    }


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}
"""``MIGRATIONS[n]`` lifts a version-``n`` config to version ``n + 1``."""


def migrate(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    version = raw.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise PolynluError(
            f"{path}: format_version {version!r} is not one this polynlu reads "
            f"(1 to {FORMAT_VERSION}); a newer polynlu may have written it"
        )
    while version < FORMAT_VERSION:
        try:
            raw = MIGRATIONS[version](raw)
        except (KeyError, TypeError, ValueError) as error:
            raise PolynluError(
                f"{path}: cannot read this version-{version} config: {error!r}"
            ) from error
        version += 1
    return raw
