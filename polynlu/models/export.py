"""``export_onnx``: a trained joint model → an ONNX folder that ``OnnxModel`` runs.

The graph takes the featurizer's arrays and returns the two heads' logits; softmax, decoding
and calibration stay in Python, shared with every model kind. ``quantize="int8"`` applies
onnxruntime's dynamic quantization (int8 weights for MatMul and Gather, activations quantized
on the fly), which needs no calibration data. ``"int8"`` gives each output channel of a weight
matrix its own scale; ``"int8-per-tensor"`` one scale per matrix. Per channel is the default
because it loses less accuracy off English (51 locales' dev exact match, float32 / per tensor /
per channel: teacher 36.4 / 33.0 / 34.0, 6-layer student 35.8 / 35.2 / 35.7) for a little more
on en-US (teacher 68.1 / 67.6 / 67.5, student 69.0 / 68.7 / 68.3).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.jit._trace import TracerWarning

from polynlu.errors import PolynluError
from polynlu.models.base import base_config, write_config
from polynlu.models.joint import Batch, JointModel, JointNetwork
from polynlu.models.onnx import INPUTS, ONNX_FILE, OUTPUTS, TOKENIZER_FILE, OnnxModel
from polynlu.text.segmentation import segment

QUANTIZATIONS = ("int8", "int8-per-tensor")
WEIGHT_SCALES = {"int8": "per-channel", "int8-per-tensor": "per-tensor"}
OPSET = 17


class _Exportable(nn.Module):
    """The network with plain tensor inputs and outputs, as ONNX wants them."""

    def __init__(self, network: JointNetwork) -> None:
        super().__init__()
        self.network = network

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        word_tokens: torch.Tensor,
        word_offsets: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        batch = Batch(input_ids, attention_mask, word_tokens, word_tokens > -1, word_offsets)
        intent_logits, slot_logits = self.network(batch)
        return intent_logits, slot_logits


def export_onnx(model: JointModel, output: Path, *, quantize: str | None = None) -> OnnxModel:
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise PolynluError(
            f"unknown quantization '{quantize}' (available: {', '.join(QUANTIZATIONS)})"
        )
    output.mkdir(parents=True, exist_ok=True)
    network = model.network.to(torch.device("cpu")).eval()
    sample = ["wake me up at five am this friday", "明日の天気は"]
    features = model.featurizer.batch(
        sample, [segment(sample[0], "en-US"), segment(sample[1], "ja-JP")]
    )
    args = tuple(torch.from_numpy(getattr(features, name)) for name in INPUTS)
    axes: dict[str, dict[int, str]] = {
        "input_ids": {0: "batch", 1: "tokens"},
        "attention_mask": {0: "batch", 1: "tokens"},
        "word_tokens": {0: "batch", 1: "words"},
        "word_offsets": {0: "batch", 1: "words"},
        "intent_logits": {0: "batch"},
        "slot_logits": {0: "batch", 1: "words"},
    }
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        # The tracer warns about Python branches on shapes in transformers' code; the dynamic
        # axes are checked by the tests, which run batches of other shapes through the graph.
        warnings.simplefilter("ignore", TracerWarning)
        warnings.filterwarnings("ignore", module=r"torch\.onnx.*")
        # The TorchScript exporter is deprecated in favour of torch.export (dynamo=True),
        # which needs onnxscript besides; it still exports BertModel with dynamic axes.
        warnings.filterwarnings("ignore", message="You are using the legacy TorchScript")
        plain = Path(scratch) / ONNX_FILE
        torch.onnx.export(
            _Exportable(network),
            args,
            str(plain),
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
        if quantize is not None:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(
                plain,
                output / ONNX_FILE,
                weight_type=QuantType.QInt8,
                per_channel=WEIGHT_SCALES[quantize] == "per-channel",
            )
        else:
            plain.replace(output / ONNX_FILE)
    model.featurizer.tokenizer.save(str(output / TOKENIZER_FILE), pretty=False)
    config: dict[str, Any] = base_config(
        model,
        slot_labels=model.slot_labels,
        joint={"max_length": model.settings.max_length},
        parameters=model.parameter_count(),
        exported_from={
            "kind": model.kind,
            "backbone": model.backbone.name,
            "training": model.training,
        },
        quantization=quantize,
        # Recorded apart from the option's name: until 0.1, "int8" meant one scale per matrix.
        weight_scales=WEIGHT_SCALES.get(quantize or ""),
        opset=OPSET,
    )
    config["kind"] = OnnxModel.kind
    config["calibration"] = model.calibration.to_config()
    write_config(output, config)
    exported = OnnxModel(folder=output, config=config)
    exported.calibration = model.calibration
    return exported
