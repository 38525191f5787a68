"""Export to ONNX (float32 and int8) and run with onnxruntime alone: same answers, no torch."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from polynlu import NLU
from polynlu.errors import PolynluError
from polynlu.models.base import read_model_config
from polynlu.models.joint import JointModel
from polynlu.models.onnx import OnnxModel
from polynlu.models.onnx_export import export_onnx

TEXTS = [
    ("wake me up at five am this friday", "en-US"),
    ("明日の天気は", "ja-JP"),
    ("spiel etwas jazz", "de-DE"),
    ("关掉客厅的灯", "zh-CN"),
    ("a", "en-US"),
]


@pytest.fixture(scope="module")
def joint(tiny_joint_two_locales: tuple[JointModel, Path]) -> JointModel:
    return tiny_joint_two_locales[0]


def parse_all(nlu: NLU) -> list[Any]:
    return nlu.parse_batch([t for t, _ in TEXTS], [loc for _, loc in TEXTS])


def test_the_float_export_answers_as_the_model_does(joint: JointModel, tmp_path: Path) -> None:
    exported = export_onnx(joint, tmp_path / "onnx")
    assert isinstance(exported, OnnxModel)
    reloaded = NLU.load(tmp_path / "onnx")
    for mine, theirs in zip(parse_all(reloaded), parse_all(NLU(joint)), strict=True):
        assert mine.intent == theirs.intent
        assert mine.confidence == pytest.approx(theirs.confidence, abs=1e-4)
        assert [(s.slot, s.start, s.end) for s in mine.slots] == [
            (s.slot, s.start, s.end) for s in theirs.slots
        ]
    config = read_model_config(tmp_path / "onnx")
    assert config.kind == "onnx" and config.intents == joint.intents
    assert config.settings.parameters == joint.parameter_count()


def weight_scale_sizes(model_file: Path) -> list[int]:
    """The number of scales each quantized weight carries (1: one for the whole matrix)."""
    import onnx

    graph = onnx.load(str(model_file)).graph
    return [
        int(np.prod(tensor.dims)) for tensor in graph.initializer if tensor.name.endswith("_scale")
    ]


@pytest.mark.parametrize(
    ("quantization", "scales"), [("int8", "per-channel"), ("int8-per-tensor", "per-tensor")]
)
def test_the_int8_export_is_smaller_and_still_parses(
    joint: JointModel, tmp_path: Path, quantization: str, scales: str
) -> None:
    export_onnx(joint, tmp_path / "float")
    export_onnx(joint, tmp_path / "int8", quantize=quantization)
    size = (tmp_path / "int8" / "model.onnx").stat().st_size
    assert size < (tmp_path / "float" / "model.onnx").stat().st_size / 2
    exported = NLU.load(tmp_path / "int8").model
    assert isinstance(exported, OnnxModel) and exported.settings.quantization == quantization
    assert exported.settings.weight_scales == scales
    sizes = weight_scale_sizes(tmp_path / "int8" / "model.onnx")
    # Matrix products get a scale per output channel; lookup tables (Gather) keep one.
    assert (max(sizes) > 1) == (scales == "per-channel")
    for result in parse_all(NLU.load(tmp_path / "int8")):
        assert 0 <= result.confidence <= 1
        for slot in result.slots:
            assert result.text[slot.start : slot.end] == slot.value


def test_an_unknown_quantization_is_refused(joint: JointModel, tmp_path: Path) -> None:
    with pytest.raises(PolynluError, match="available: int8, int8-per-tensor"):
        export_onnx(joint, tmp_path / "int4", quantize="int4")


@pytest.mark.slow
def test_an_exported_model_runs_without_torch(joint: JointModel, tmp_path: Path) -> None:
    export_onnx(joint, tmp_path / "onnx", quantize="int8")
    script = (
        "import sys, json\n"
        "from polynlu import NLU\n"
        f"nlu = NLU.load({str(tmp_path / 'onnx')!r})\n"
        "result = nlu.parse('wake me up at five', 'en-US')\n"
        "import polynlu.cli\n"
        "from polynlu.evaluation.evaluate import evaluate\n"
        "from polynlu.serving import ServeSettings, create_app\n"
        f"create_app(ServeSettings(model={str(tmp_path / 'onnx')!r}))\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
        "print(json.dumps(result.to_dict()))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["text"] == "wake me up at five"
