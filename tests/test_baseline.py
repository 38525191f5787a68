from pathlib import Path

import pytest
from support import TINY, fit_baseline

from polynlu import NLU, Interpretation
from polynlu.data import MassiveData
from polynlu.errors import PolynluError
from polynlu.models.base import read_model_config
from polynlu.models.baseline import BaselineModel
from polynlu.training.config import BaselineConfig

TINY_CONFIG = BaselineConfig(n_features=2**12, epochs=30)


@pytest.fixture(scope="module")
def trained() -> BaselineModel:
    data = MassiveData(TINY)
    examples = data.read(["en-US", "ja-JP"], "train", show_progress=False).examples
    return fit_baseline(examples, TINY_CONFIG)


def test_it_learns_the_training_data(trained: BaselineModel) -> None:
    nlu = NLU(trained)
    result = nlu.parse("wake me up at five am tomorrow", locale="en-US")
    assert result.intent == "alarm_set"
    assert 0 < result.confidence <= 1
    assert result.alternatives[0].intent == result.intent
    assert len(result.alternatives) == 5
    assert sorted(trained.train_locales) == ["en-US", "ja-JP"]


def test_slots_are_character_spans_of_the_text(trained: BaselineModel) -> None:
    texts = ["set an alarm for seven am", "明日の午前七時にアラームをセットして"]
    for result in NLU(trained).parse_batch(texts, ["en-US", "ja-JP"]):
        for slot in result.slots:
            assert result.text[slot.start : slot.end] == slot.value
            assert slot.confidence is not None and 0 < slot.confidence <= 1


def test_save_and_load_give_identical_predictions(trained: BaselineModel, tmp_path: Path) -> None:
    texts = ["what's the weather like", "turn off the lights", "明日の天気は"]
    locales = ["en-US", "en-US", "ja-JP"]
    NLU(trained).save(tmp_path / "model")
    files = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert files == ["config.json", "weights.safetensors"]
    config = read_model_config(tmp_path / "model")
    assert config.kind == "baseline"
    assert config.format == "polynlu-model"
    assert len(config.intents) == 6 and "Other" in config.slot_labels
    assert config.settings.n_features == 2**12
    loaded = NLU.load(tmp_path / "model")
    assert loaded.parse_batch(texts, locales) == NLU(trained).parse_batch(texts, locales)
    assert loaded.model.slot_types == trained.slot_types


def test_parse_batch_checks_its_arguments(trained: BaselineModel) -> None:
    nlu = NLU(trained)
    assert nlu.parse_batch([]) == []
    with pytest.raises(TypeError):
        nlu.parse_batch("one text")  # type: ignore[arg-type]
    with pytest.raises(PolynluError, match="2 texts but 1 locales"):
        nlu.parse_batch(["a", "b"], ["en-US"])
    assert isinstance(nlu.parse("hello"), Interpretation)


def test_loading_something_that_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(PolynluError, match="not found"):
        NLU.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PolynluError, match=r"no config\.json"):
        NLU.load(tmp_path / "empty")
    (tmp_path / "empty" / "config.json").write_text('{"format": "polynlu-model", "kind": "x"}')
    with pytest.raises(PolynluError, match="unknown model kind 'x'"):
        NLU.load(tmp_path / "empty")


def test_a_corrupt_weights_file_is_reported(trained: BaselineModel, tmp_path: Path) -> None:
    NLU(trained).save(tmp_path / "model")
    (tmp_path / "model" / "weights.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(PolynluError, match="cannot load the baseline model"):
        NLU.load(tmp_path / "model")
