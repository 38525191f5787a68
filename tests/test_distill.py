"""Teacher → student on a tiny configuration: pruning, distilling, exporting, serving."""

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
import torch
from support import TINY, TINY_JOINT, polynlu
from tokenizers import Tokenizer

from polynlu import NLU
from polynlu.data import MassiveData
from polynlu.errors import PolynluError
from polynlu.evaluation.evaluate import evaluate
from polynlu.models.backbones.registry import TINY_BACKBONE, load_backbone
from polynlu.models.base import load_model
from polynlu.models.calibration import Calibration
from polynlu.models.joint import JointModel
from polynlu.models.onnx_export import export_onnx
from polynlu.training import TrainingData
from polynlu.training.config import FEW_SHOT, SELF_TRAINING_LEARNING_RATE, DistillConfig
from polynlu.training.distill import DistillTrainer, StudentSettings, distill, prune_vocabulary

CONFIG = TINY_JOINT


def distiller(settings: StudentSettings, teacher: JointModel, output: Path) -> DistillTrainer:
    """A distillation of ``teacher`` with the tiny run's settings, every unlabelled
    utterance used."""
    config = DistillConfig(student=settings, training=CONFIG, unlabeled_per_locale=None)
    return DistillTrainer(config, output, teacher=teacher, show_progress=False)


def test_a_pruned_vocabulary_tokenizes_its_texts_exactly_as_before() -> None:
    tokenizer = load_backbone(TINY_BACKBONE).tokenizer
    texts = ["wake me up at five am", "明日の天気は", "Wie wird das Wetter", "ตั้งนาฬิกาปลุก"]
    pruned, keep = prune_vocabulary(Tokenizer.from_str(tokenizer.to_str()), texts, None)
    assert len(keep) < 100 < tokenizer.get_vocab_size()
    for text in texts:
        before, after = tokenizer.encode(text), pruned.encode(text)
        assert after.tokens == before.tokens and after.offsets == before.offsets
        assert [keep[i] for i in after.ids] == before.ids
    capped, kept = prune_vocabulary(Tokenizer.from_str(tokenizer.to_str()), texts, 12)
    assert len(kept) == 12 and capped.encode("wake me up").tokens[0] == "<s>"


@pytest.fixture(scope="module")
def data() -> MassiveData:
    return MassiveData(TINY)


@pytest.fixture(scope="module")
def teacher(tiny_joint: tuple[JointModel, Path]) -> JointModel:
    return tiny_joint[0]


@pytest.mark.slow
def test_distil_export_evaluate_and_serve(
    data: MassiveData,
    teacher: JointModel,
    tmp_path: Path,
    serve_command: Callable[..., AbstractContextManager[str]],
) -> None:
    labelled = data.read(["en-US"], "train", show_progress=False).examples
    unlabelled = data.read(["de-DE", "ja-JP", "zh-CN"], "train", show_progress=False).examples
    dev = data.read(["en-US"], "dev", show_progress=False).examples
    settings = StudentSettings(layers=1, vocab_size=2_000)
    student = distiller(settings, teacher, tmp_path / "student").fit(
        TrainingData(labelled, dev, unlabelled)
    )
    assert student.network.encoder.config.num_hidden_layers == 1
    assert student.parameter_count() < teacher.parameter_count() / 10
    saved = load_model(tmp_path / "student")
    assert isinstance(saved, JointModel) and saved.intents == teacher.intents
    assert saved.training["student"]["layers"] == 1 and saved.training["vocabulary"] <= 2_000

    export_onnx(saved, tmp_path / "int8", quantize="int8")
    result = evaluate(
        NLU.load(tmp_path / "int8"),
        data.read(data.locales, "dev", show_progress=False).examples,
        show_progress=False,
    )
    assert set(result.locales) == {"de-DE", "en-US", "ja-JP", "zh-CN"}

    with serve_command(tmp_path / "int8") as url:
        answer = httpx.post(f"{url}/v1/parse", json={"text": "明日の天気は"}, timeout=5)
        assert answer.status_code == 200 and answer.json()["locale"] == "ja-JP"
        info = httpx.get(f"{url}/v1/model").json()
        assert info["kind"] == "onnx" and info["parameters"] == saved.parameter_count()


def test_resume_refuses_other_student_settings(
    data: MassiveData, teacher: JointModel, tmp_path: Path
) -> None:
    labelled = data.read(["en-US"], "train", show_progress=False).examples
    unlabelled = data.read(["de-DE"], "train", show_progress=False).examples
    dev = data.read(["en-US"], "dev", show_progress=False).examples
    folder = tmp_path / "student"
    distiller(StudentSettings(layers=1), teacher, folder).fit(
        TrainingData(labelled, dev, unlabelled)
    )
    state = json.loads((folder / "checkpoint" / "trainer_state.json").read_text())
    assert state["config"]["student"]["layers"] == 1
    # A finished run resumes to its saved student, without scoring the texts again.
    same = distiller(StudentSettings(layers=1), teacher, folder)
    same._score_with_teacher = lambda examples: pytest.fail("scored again")  # type: ignore[method-assign]
    resumed = same.fit(TrainingData(labelled, dev, unlabelled), resume=True)
    assert resumed.training["history"] == state["history"][: resumed.training["best_epoch"]]
    with pytest.raises(PolynluError, match="another configuration"):
        distiller(StudentSettings(layers=2), teacher, folder).fit(
            TrainingData(labelled, dev, unlabelled), resume=True
        )


def test_a_student_keeps_learning_from_where_it_stopped(
    data: MassiveData, teacher: JointModel, tmp_path: Path
) -> None:
    labelled = data.read(["en-US"], "train", show_progress=False).examples
    dev = data.read(["en-US"], "dev", show_progress=False).examples
    first = distiller(StudentSettings(layers=1, vocab_size=2_000), teacher, tmp_path / "first").fit(
        TrainingData(labelled, dev, data.read(["de-DE"], "train", show_progress=False).examples)
    )
    first.calibration = Calibration(temperature=1.5)
    first.save(tmp_path / "first")

    fresh_text = data.read(["ja-JP", "zh-CN"], "train", show_progress=False).examples
    settings = StudentSettings(start_from=str(tmp_path / "first"))
    second = distiller(settings, teacher, tmp_path / "second").fit(
        TrainingData(labelled, dev, fresh_text)
    )

    # The same shape and vocabulary (not a new cut of the teacher), but new weights.
    assert second.network.encoder.config.num_hidden_layers == 1
    assert second.featurizer.tokenizer.to_str() == first.featurizer.tokenizer.to_str()
    before = first.network.state_dict()
    assert any(
        not torch.equal(value, before[name]) for name, value in second.network.state_dict().items()
    )
    saved = load_model(tmp_path / "second")
    assert saved.training["started_from"]["folder"] == str(tmp_path / "first")
    assert saved.training["started_from"]["training"]["student"]["layers"] == 1
    assert saved.calibration.temperature == 1.0  # fitted to the old weights, so dropped


def test_a_student_to_start_from_needs_the_teachers_labels(
    data: MassiveData, teacher: JointModel, tmp_path: Path
) -> None:
    teacher.save(tmp_path / "other")
    config_file = tmp_path / "other" / "config.json"
    config = json.loads(config_file.read_text())
    config["intents"][-1] = "weather_unknown"
    config_file.write_text(json.dumps(config))
    labelled = data.read(["en-US"], "train", show_progress=False).examples
    with pytest.raises(PolynluError, match="other intents than the teacher"):
        distiller(StudentSettings(start_from=str(tmp_path / "other")), teacher, tmp_path / "x").fit(
            TrainingData(labelled, labelled)
        )


def test_the_default_recipe_adds_rounds_on_fresh_text(
    data: MassiveData, teacher: JointModel, tmp_path: Path
) -> None:
    labelled = data.read(["en-US"], "train", show_progress=False).examples
    dev = data.read(["en-US"], "dev", show_progress=False).examples
    pool = data.read(["de-DE", "ja-JP", "zh-CN"], "train", show_progress=False).examples
    config = DistillConfig(
        student=StudentSettings(layers=1, vocab_size=2_000),
        training=CONFIG,
        unlabeled_per_locale=10,
        fresh_rounds=1,
    )
    output = tmp_path / "student"
    student = distill(config, output, teacher=teacher, data=TrainingData(labelled, dev, pool))
    saved = load_model(output)
    assert saved.training["fresh_round"] == 1 == student.training["fresh_round"]
    assert saved.training["config"]["learning_rate"] == config.fresh_learning_rate
    assert saved.training["started_from"]["training"]["student"]["layers"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student"]  # no round left behind
    defaults = DistillConfig()
    assert (defaults.student.layers, defaults.student.vocab_size) == (6, 42_000)
    assert (defaults.training.epochs, defaults.fresh_rounds) == (4, 2)


def test_self_train_keeps_training_the_model_on_its_own_answers_for_other_locales(
    tiny_joint: tuple[JointModel, Path], tmp_path: Path
) -> None:
    _, folder = tiny_joint
    done = polynlu(
        "self-train", str(folder), "--data", str(TINY), "--unlabeled-locales", "de-DE,ja-JP",
        "--unlabeled-per-locale", "5", "--epochs", "1", "--output", str(tmp_path / "self"),
        "--no-progress",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "up to 5 unlabelled ones a locale from 2 locales" in done.stdout
    saved = load_model(tmp_path / "self")
    assert isinstance(saved, JointModel) and saved.train_locales == ["en-US"]
    assert saved.training["started_from"]["folder"] == str(folder)
    assert saved.training["config"]["epochs"] == 1
    # The recipe the labelled data chooses (TINY's en-US is few-shot), at self-training's rate.
    assert saved.training["config"]["freeze_layers"] == FEW_SHOT.freeze_layers
    assert saved.training["config"]["learning_rate"] == SELF_TRAINING_LEARNING_RATE
    labelled = len(MassiveData(TINY).read(["en-US"], "train", show_progress=False).examples)
    assert saved.training["train_examples"] == labelled + 10

    nothing = polynlu(
        "self-train", str(folder), "--data", str(TINY), "--unlabeled-locales", "en-US",
        "--output", str(tmp_path / "none"),
    )  # fmt: skip
    assert nothing.returncode == 2 and "no unlabelled utterances" in nothing.stderr
