"""Export formats and their quantizations, by name: ``polynlu export --format NAME``.

An exporter turns a trained model into a folder that ``load_model`` reads as another kind
(ONNX → ``onnx``). A new format is one module with a function ``(model, output, quantize)``
registered here (``@EXPORT_FORMATS.register("name")``, or lazily as below so that listing the
formats imports nothing heavy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from polynlu.models.base import NLUModel
from polynlu.registry import Registry


class Exporter(Protocol):
    def __call__(self, model: NLUModel, output: Path, *, quantize: str | None = None) -> NLUModel:
        """Write ``model`` to ``output`` in this format; return the exported model."""
        ...


EXPORT_FORMATS: Registry[Exporter] = Registry(
    "export format", entry_point_group="polynlu.export_formats"
)
EXPORT_FORMATS.register_lazy(
    "onnx",
    "polynlu.models.onnx_export:export_onnx",
    summary="onnxruntime, no PyTorch needed to serve",
)


@dataclass(frozen=True)
class Quantization:
    weight_scales: str
    """Recorded in the exported config: ``per-channel`` or ``per-tensor``."""
    apply: Callable[[Path, Path], None]
    """Float32 graph file → quantized graph file."""


ONNX_QUANTIZATIONS: Registry[Quantization] = Registry("ONNX quantization")
"""The names ``--quantize`` takes with ``--format onnx``."""
ONNX_QUANTIZATIONS.register_lazy(
    "int8",
    "polynlu.models.onnx_export:INT8_PER_CHANNEL",
    summary="dynamic int8, one scale per output channel of each weight matrix",
)
ONNX_QUANTIZATIONS.register_lazy(
    "int8-per-tensor",
    "polynlu.models.onnx_export:INT8_PER_TENSOR",
    summary="dynamic int8, one scale per weight matrix",
)


def export_model(
    model: NLUModel, output: Path, *, format: str = "onnx", quantize: str | None = None
) -> NLUModel:
    exporter = EXPORT_FORMATS.get(format)
    return exporter(model, output, quantize=quantize)
