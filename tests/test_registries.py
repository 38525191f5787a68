"""Adding a model kind, a trainer, a backbone source or an export format is one module plus its
registration: shown here by registering each from a test module and using it end to end."""

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from scipy.special import softmax
from sklearn.feature_extraction.text import HashingVectorizer
from support import TINY_JOINT, LiveServer, tiny_split, tiny_training_data

from polynlu import NLU
from polynlu.data.example import Example
from polynlu.errors import PolynluError
from polynlu.evaluation.evaluate import evaluate
from polynlu.models.backbones.registry import BACKBONES, Backbone, load_backbone
from polynlu.models.base import MODEL_KINDS, NLUModel, load_model
from polynlu.models.config import KindSettings, ModelConfig
from polynlu.models.decoding import UtteranceScores
from polynlu.models.export import EXPORT_FORMATS, export_model
from polynlu.registry import Registry
from polynlu.serving import ServeSettings
from polynlu.text.segmentation import segment
from polynlu.text.spans import OUTSIDE
from polynlu.training import TRAINERS, Trainer, TrainingData
from polynlu.training.trainer import JointTrainer

# -- a whole model kind in one module: nearest intent centroid, per-word slot votes ------------


class CentroidSettings(KindSettings):
    n_features: int = 2**10


class CentroidModel(NLUModel):
    """Intents by cosine similarity to each intent's mean character-n-gram vector; slots by
    the label each (hashed) word most often had in training."""

    kind = "centroid"
    settings_type = CentroidSettings

    def __init__(
        self,
        intents: list[str],
        slot_labels: list[str],
        train_locales: list[str],
        settings: CentroidSettings,
        tensors: dict[str, np.ndarray],
    ) -> None:
        super().__init__(intents, slot_labels, train_locales)
        self.settings = settings
        self.tensors = tensors
        self.chars = hasher(settings.n_features)

    def probabilities(
        self, texts: Sequence[str], locales: Sequence[str | None]
    ) -> list[UtteranceScores]:
        vectors = self.chars.transform(texts).toarray()
        similarity = vectors @ self.tensors["centroids"].T
        results = []
        for row, (text, locale) in enumerate(zip(texts, locales, strict=True)):
            words = segment(text, locale)
            votes = self.tensors["word_votes"][[word_bucket(w.text, self.settings) for w in words]]
            results.append(
                UtteranceScores(words, softmax(similarity[row] * 10), softmax(votes, axis=-1))
            )
        return results

    def set_threads(self, threads: int | None) -> None:
        """NumPy on one thread: nothing to set."""

    def parameter_count(self) -> int:
        return sum(int(t.size) for t in self.tensors.values())

    def kind_settings(self) -> CentroidSettings:
        return self.settings

    def save_weights(self, folder: Path) -> None:
        save_file(self.tensors, str(folder / "centroids.safetensors"))

    @classmethod
    def load(cls, folder: Path, config: ModelConfig[Any]) -> "CentroidModel":
        tensors = load_file(str(folder / "centroids.safetensors"))
        return cls(
            config.intents, config.slot_labels, config.train_locales, config.settings, tensors
        )


def hasher(n_features: int) -> HashingVectorizer:
    return HashingVectorizer(analyzer="char_wb", ngram_range=(2, 4), n_features=n_features)


def word_bucket(word: str, settings: CentroidSettings) -> int:
    return int(hasher(settings.n_features).transform([word.lower()]).indices.min(initial=0))


class CentroidTrainer(Trainer):
    config_type = CentroidSettings
    config: CentroidSettings

    def fit(self, data: TrainingData, *, resume: bool = False) -> CentroidModel:
        train: Sequence[Example] = data.train
        intents = sorted({e.intent for e in train})
        labels = [OUTSIDE, *sorted({label for e in train for label in e.labels} - {OUTSIDE})]
        vectors = hasher(self.config.n_features).transform([e.utt for e in train]).toarray()
        centroids = np.stack(
            [vectors[[e.intent == i for e in train]].mean(axis=0) for i in intents]
        )
        votes = np.zeros((self.config.n_features, len(labels)), dtype=np.float32)
        for example in train:
            for word, label in zip(example.words, example.labels, strict=True):
                votes[word_bucket(word.text, self.config), labels.index(label)] += 1.0
        model = CentroidModel(
            intents,
            labels,
            sorted({e.locale for e in train}),
            self.config,
            {"centroids": centroids.astype(np.float32), "word_votes": votes},
        )
        model.save(self.output)
        return model


@pytest.fixture
def centroid_kind() -> Iterator[None]:
    MODEL_KINDS.register("centroid")(CentroidModel)
    TRAINERS.register("centroid")(CentroidTrainer)
    yield
    MODEL_KINDS.unregister("centroid")
    TRAINERS.unregister("centroid")


@pytest.mark.slow
def test_a_registered_kind_trains_saves_loads_evaluates_and_serves(
    centroid_kind: None, tmp_path: Path
) -> None:
    trainer = TRAINERS.get("centroid")(CentroidSettings(), tmp_path / "centroid")
    trainer.fit(tiny_training_data(["en-US"], ["en-US"]))
    model = load_model(tmp_path / "centroid")
    assert isinstance(model, CentroidModel) and model.kind == "centroid"

    result = evaluate(NLU(model), tiny_split(["en-US"], "dev"), show_progress=False)
    assert result.locales["en-US"].intent_acc > 0.5  # six intents: chance is 1/6

    settings = ServeSettings(model=str(tmp_path / "centroid"))
    with LiveServer(settings) as live, httpx.Client(base_url=live.url) as http:
        answer = http.post("/v1/parse", json={"text": "wake me up at five am", "locale": "en-US"})
        assert answer.status_code == 200 and answer.json()["intent"] == "alarm_set"
        assert http.get("/v1/model").json()["kind"] == "centroid"


def test_an_unregistered_kind_is_named_with_the_available_ones(
    centroid_kind: None, tmp_path: Path
) -> None:
    TRAINERS.get("centroid")(CentroidSettings(), tmp_path / "m").fit(
        tiny_training_data(["en-US"], [])
    )
    MODEL_KINDS.unregister("centroid")
    with pytest.raises(PolynluError, match=r"unknown model kind 'centroid' \(available: joint"):
        load_model(tmp_path / "m")


# -- a backbone source and an export format ----------------------------------------------------


def test_a_registered_backbone_source_trains_a_joint_model(tmp_path: Path) -> None:
    @BACKBONES.register("tiny-renamed")
    def renamed(*, show_progress: bool = True) -> Backbone:
        tiny = load_backbone("tiny-random")
        return Backbone("tiny-renamed", tiny.encoder, tiny.tokenizer)

    try:
        config = TINY_JOINT.__class__(**{**TINY_JOINT.__dict__, "backbone": "tiny-renamed"})
        model = JointTrainer(config, tmp_path / "joint", show_progress=False).fit(
            tiny_training_data(["en-US"], ["en-US"])
        )
        assert load_model(tmp_path / "joint").backbone_name == "tiny-renamed"
        assert model.backbone_name == "tiny-renamed"
    finally:
        BACKBONES.unregister("tiny-renamed")


def test_a_registered_export_format_is_found_by_name(centroid_kind: None, tmp_path: Path) -> None:
    model = TRAINERS.get("centroid")(CentroidSettings(n_features=256), tmp_path / "m").fit(
        tiny_training_data(["en-US"], [])
    )

    @EXPORT_FORMATS.register("float16")
    def to_float16(model: NLUModel, output: Path, *, quantize: str | None = None) -> NLUModel:
        assert isinstance(model, CentroidModel)
        halved = {k: v.astype(np.float16).astype(np.float32) for k, v in model.tensors.items()}
        copy = CentroidModel(
            model.intents, model.slot_labels, model.train_locales, model.settings, halved
        )
        copy.save(output)
        return copy

    try:
        export_model(model, tmp_path / "half", format="float16")
        reloaded = NLU.load(tmp_path / "half")
        assert reloaded.parse("wake me up at five am", "en-US").intent == "alarm_set"
        with pytest.raises(PolynluError, match=r"unknown export format 'int3' \(available: onnx"):
            export_model(model, tmp_path / "x", format="int3")
    finally:
        EXPORT_FORMATS.unregister("float16")


def test_a_registry_refuses_a_second_thing_under_one_name() -> None:
    things: Registry[object] = Registry("thing")
    things.register("a")(1)
    things.register("a")(1)  # the same thing again (a module imported twice) is fine
    with pytest.raises(PolynluError, match="the thing 'a' is registered already"):
        things.register("a")(2)
    things.register_lazy("lazy", "polynlu.text.spans:OUTSIDE", summary="a constant")
    assert things.names() == ["a", "lazy"] and things.get("lazy") == OUTSIDE
    assert things.summaries() == "a, lazy (a constant)"
