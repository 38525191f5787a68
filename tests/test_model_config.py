"""``config.json`` as a typed object: what a model writes, what older versions wrote, and the
errors a broken or future config gets."""

import json
import shutil
from pathlib import Path

import pytest

from polynlu import NLU
from polynlu.errors import PolynluError
from polynlu.models.base import load_model, read_model_config
from polynlu.models.config import FORMAT_VERSION
from polynlu.models.joint import JointModel
from polynlu.models.onnx_export import export_onnx

V1 = Path(__file__).parent / "data" / "models-v1"
TEXTS = ["wake me up at five am", "what's the weather"]


def test_a_version_1_baseline_answers_as_it_did(tmp_path: Path) -> None:
    folder = tmp_path / "baseline"
    shutil.copytree(V1 / "baseline", folder)
    expected = json.loads((V1 / "baseline-expected.json").read_text())["baseline"]
    config = read_model_config(folder)
    assert config.format_version == FORMAT_VERSION and config.settings.n_features == 1024
    assert config.calibration.temperature == 1.3 and config.calibration.fitted_on
    assert config.provenance.polynlu_version == "0.1.0"
    assert config.provenance.training["config"]["n_features"] == 1024
    answers = [r.to_dict() for r in NLU.load(folder).parse_batch(TEXTS, ["en-US"] * 2)]
    for mine, then in zip(answers, expected, strict=True):
        assert mine["intent"] == then["intent"] and mine["out_of_scope"] == then["out_of_scope"]
        assert mine["confidence"] == pytest.approx(then["confidence"], abs=1e-6)
        assert [s["slot"] for s in mine["slots"]] == [s["slot"] for s in then["slots"]]
    # Saving it again writes the current version, and nothing is lost on the way.
    load_model(folder).save(tmp_path / "again")
    again = read_model_config(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "config.json").read_text())["format_version"] == 2
    assert again.calibration == config.calibration
    assert again.provenance.training == config.provenance.training
    assert again.provenance.created == config.provenance.created


def test_a_version_1_joint_config_loads_its_weights(
    tiny_joint: tuple[JointModel, Path], tmp_path: Path
) -> None:
    _, trained = tiny_joint
    folder = tmp_path / "joint"
    shutil.copytree(trained, folder)
    shutil.copy(V1 / "joint" / "config.json", folder / "config.json")
    loaded = load_model(folder)
    assert isinstance(loaded, JointModel) and loaded.backbone_name == "tiny-random"
    assert loaded.settings.max_length == 32 and loaded.provenance.libraries["torch"]
    assert [h["epoch"] for h in loaded.training["history"]] == [1]
    assert loaded.prototypes is None  # version 1 had none: the head alone answers
    head_only = load_model(trained)
    head_only.prototypes = None
    before = NLU(head_only).parse_batch(TEXTS, ["en-US"] * 2)
    assert NLU(loaded).parse_batch(TEXTS, ["en-US"] * 2) == before


@pytest.mark.parametrize(
    ("drop_weight_scales", "quantization", "weight_scales"),
    [(False, "int8", "per-channel"), (True, "int8-per-tensor", "per-tensor")],
)
def test_a_version_1_onnx_config_keeps_its_quantization(
    tiny_joint: tuple[JointModel, Path],
    tmp_path: Path,
    drop_weight_scales: bool,
    quantization: str,
    weight_scales: str,
) -> None:
    export_onnx(tiny_joint[0], tmp_path / "onnx", quantize="int8")
    old = json.loads((V1 / "onnx-int8" / "config.json").read_text())
    if drop_weight_scales:  # as versions before weight_scales wrote it
        del old["weight_scales"]
    (tmp_path / "onnx" / "config.json").write_text(json.dumps(old))
    config = read_model_config(tmp_path / "onnx")
    assert config.settings.quantization == quantization
    assert config.settings.weight_scales == weight_scales
    assert config.provenance.exported_from == old["exported_from"]
    assert NLU.load(tmp_path / "onnx").parse("wake me up at five am", "en-US").intent


def test_broken_and_future_configs_are_refused_with_the_field(
    tiny_joint: tuple[JointModel, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "joint"
    shutil.copytree(tiny_joint[1], folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "format_version": 99}))
    with pytest.raises(PolynluError, match="format_version 99 is not one this polynlu reads"):
        load_model(folder)
    broken = {**config, "settings": {**config["settings"], "max_length": "long"}}
    (folder / "config.json").write_text(json.dumps(broken))
    with pytest.raises(PolynluError, match=r"config\.json: settings\.max_length: Input should be"):
        load_model(folder)
    (folder / "config.json").write_bytes(b'{"format": "polynlu-model", "kind": "joint\xff"}')
    with pytest.raises(PolynluError, match="not UTF-8"):
        load_model(folder)
