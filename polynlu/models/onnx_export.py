"""``export_onnx``: a trained joint model → an ONNX folder that ``OnnxModel`` runs.

The graph takes the featurizer's arrays and returns the two heads' logits; softmax, decoding
and calibration stay in Python, shared with every model kind. ``quantize="int8"`` applies
onnxruntime's dynamic quantization (int8 weights for MatMul and Gather, activations quantized
on the fly), which needs no calibration data. ``"int8"`` gives each output channel of a weight
matrix its own scale; ``"int8-per-tensor"`` one scale per matrix. Per channel is the default
because it loses less accuracy off English (docs/results.md has the measurements).
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.jit._trace import TracerWarning

from polynlu.errors import PolynluError
from polynlu.models.base import NLUModel
from polynlu.models.config import Provenance
from polynlu.models.export import ONNX_QUANTIZATIONS, Quantization
from polynlu.models.features import TOKENIZER_FILE
from polynlu.models.joint import Batch, JointModel, JointNetwork
from polynlu.models.onnx import INPUTS, ONNX_FILE, OUTPUTS, SENTENCES, OnnxModel, OnnxSettings
from polynlu.text.segmentation import segment

OPSET = 17


def _dynamic_int8(per_channel: bool) -> Callable[[Path, Path], None]:
    def quantize(plain: Path, output: Path) -> None:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(plain, output, weight_type=QuantType.QInt8, per_channel=per_channel)

    return quantize


INT8_PER_CHANNEL = Quantization("per-channel", _dynamic_int8(per_channel=True))
INT8_PER_TENSOR = Quantization("per-tensor", _dynamic_int8(per_channel=False))


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
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch = Batch(input_ids, attention_mask, word_tokens, word_tokens > -1, word_offsets)
        pooled, word_states = self.network.encode(batch)
        intent_logits, slot_logits = self.network.heads(pooled, word_states)
        return intent_logits, slot_logits, pooled


def export_onnx(model: NLUModel, output: Path, *, quantize: str | None = None) -> OnnxModel:
    if not isinstance(model, JointModel):
        raise PolynluError(f"only joint models export to ONNX, not {model.kind} models")
    quantization = None if quantize is None else ONNX_QUANTIZATIONS.get(quantize)
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
        SENTENCES: {0: "batch"},
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
            output_names=[*OUTPUTS, SENTENCES],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
        if quantization is not None:
            quantization.apply(plain, output / ONNX_FILE)
        else:
            plain.replace(output / ONNX_FILE)
    model.featurizer.tokenizer.save(str(output / TOKENIZER_FILE), pretty=False)
    exported = OnnxModel(
        folder=output,
        settings=OnnxSettings(
            max_length=model.settings.max_length,
            parameters=model.parameter_count(),
            quantization=quantize,
            # Recorded apart from the option's name: until 0.1, "int8" meant one scale per matrix.
            weight_scales=None if quantization is None else quantization.weight_scales,
            opset=OPSET,
        ),
        intents=model.head_intents,
        slot_labels=model.slot_labels,
        train_locales=model.train_locales,
    )
    exported.prototypes = model.prototypes
    exported.added_examples = model.added_examples
    exported.calibration = model.calibration
    exported.segmentation = model.segmentation
    exported.slot_values = model.slot_values
    exported.provenance = Provenance(
        libraries={"torch": torch.__version__, **onnx_versions()},
        exported_from={
            "kind": model.kind,
            "backbone": model.backbone.name,
            "training": model.training,
        },
    )
    exported.save_additions(output)
    exported.save_config(output)
    return exported


def onnx_versions() -> dict[str, str]:
    import onnx
    import onnxruntime

    return {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}
