"""The joint model on a tiny random encoder with the real e5 tokenizer: seconds, not minutes."""

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import TWO_EPOCHS
from support import TINY_JOINT, tiny_training_data

from polynlu import NLU
from polynlu.errors import PolynluError
from polynlu.models.backbones.registry import TINY_BACKBONE, load_backbone
from polynlu.models.base import read_model_config
from polynlu.models.features import Featurizer, split_japanese_particles
from polynlu.models.joint import JointModel
from polynlu.text import segment
from polynlu.training import TrainingData
from polynlu.training.config import TrainConfig
from polynlu.training.trainer import JointTrainer

CONFIG = TWO_EPOCHS


@pytest.fixture(scope="module")
def splits() -> TrainingData:
    return tiny_training_data(["en-US", "ja-JP"], ["en-US", "ja-JP"])


@pytest.fixture(scope="module")
def trained(tiny_joint_two_locales: tuple[JointModel, Path]) -> tuple[JointModel, Path]:
    return tiny_joint_two_locales


def test_each_word_reads_the_subword_holding_its_first_character() -> None:
    featurizer = Featurizer(load_backbone(TINY_BACKBONE).tokenizer, max_length=32)
    texts = ["wake me up at five am", "金曜日の午前九時に起こして"]
    words = [segment(texts[0], "en-US"), segment(texts[1], "ja-JP")]
    batch = featurizer.batch(texts, words)
    encodings = featurizer.tokenizer.encode_batch(texts)
    for row, (encoding, sentence) in enumerate(zip(encodings, words, strict=True)):
        for index, word in enumerate(sentence):
            start, end = encoding.offsets[int(batch.word_tokens[row, index])]
            assert start <= word.start < end, (word, encoding.tokens)
    assert bool(batch.word_mask[0, :6].all()) and not bool(batch.word_mask[0, 6:].any())
    # 日の is one sub-word: の is told apart by its offset inside it
    assert int(batch.word_offsets[1, 3]) == 1


def test_japanese_particles_get_pieces_of_their_own_and_keep_them_when_saved(
    trained: tuple[JointModel, Path],
) -> None:
    natural = load_backbone(TINY_BACKBONE).tokenizer
    split = split_japanese_particles(natural)
    pieces = split.encode("今日は何時に起こして、聞きたい").tokens
    assert {"今日", "は", "時", "に", "聞き"} <= set(pieces)  # okurigana (聞き) stays whole
    assert "今日は" in natural.encode("今日は").tokens[1]  # the original is not changed
    english = "wake me up at five am"
    assert split.encode(english).tokens == natural.encode(english).tokens
    # A trained model reads Japanese with the split, and so does the folder it saved.
    model, folder = trained
    assert "は" in model.featurizer.tokenizer.encode("今日は").tokens
    assert "は" in NLU.load(folder).model.featurizer.tokenizer.encode("今日は").tokens


def test_training_lowers_the_loss_and_keeps_the_best_epoch(
    trained: tuple[JointModel, Path],
) -> None:
    model, folder = trained
    history = model.training["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[1]["train_loss"] < history[0]["train_loss"]
    assert model.training["best_epoch"] in (1, 2)
    config = read_model_config(folder)
    assert config.kind == "joint" and config.settings.backbone == TINY_BACKBONE
    assert config.train_locales == ["en-US", "ja-JP"]
    assert config.slot_labels[0] == "Other"
    assert len(config.provenance.training["history"]) == 2
    for name in ("heads.safetensors", "tokenizer.json", "encoder/model.safetensors"):
        assert (folder / name).is_file()
    assert not list(folder.rglob("*.bin")) and not list(folder.rglob("*.pt"))


def test_a_saved_model_parses_the_same_after_loading(trained: tuple[JointModel, Path]) -> None:
    model, folder = trained
    texts = ["set an alarm for six am", "明日の天気は", "turn off the lights"]
    locales = ["en-US", "ja-JP", None]
    before = NLU(model).parse_batch(texts, locales)
    after = NLU.load(folder).parse_batch(texts, locales)
    for a, b in zip(before, after, strict=True):
        assert a.intent == b.intent and a.slots == pytest.approx(b.slots)
        assert a.confidence == pytest.approx(b.confidence, abs=1e-5)
        for slot in b.slots:
            assert b.text[slot.start : slot.end] == slot.value


def test_resume_continues_where_an_interrupted_run_stopped(
    splits: TrainingData, trained: tuple[JointModel, Path], tmp_path: Path
) -> None:
    class SimulatedCrashError(Exception):
        pass

    def stop_after_first(record: dict[str, Any], model: JointModel) -> None:
        if record["epoch"] == 1:
            raise SimulatedCrashError

    folder = tmp_path / "model"
    with pytest.raises(SimulatedCrashError):
        JointTrainer(CONFIG, folder, show_progress=False, on_epoch=stop_after_first).fit(splits)
    resumed = JointTrainer(CONFIG, folder, show_progress=False).fit(splits, resume=True)
    assert [h["epoch"] for h in resumed.training["history"]] == [1, 2]
    uninterrupted, _ = trained
    for mine, theirs in zip(
        resumed.network.heads_state().values(),
        uninterrupted.network.heads_state().values(),
        strict=True,
    ):
        torch.testing.assert_close(mine, theirs)
    with pytest.raises(PolynluError, match="another configuration"):
        JointTrainer(
            TrainConfig(**{**CONFIG.__dict__, "epochs": 3}), folder, show_progress=False
        ).fit(splits, resume=True)


def test_frozen_lower_layers_keep_their_pretrained_weights(
    splits: TrainingData, tmp_path: Path
) -> None:
    config = TrainConfig(**{**CONFIG.__dict__, "epochs": 1, "freeze_layers": 1, "layer_decay": 0.5})
    pretrained = load_backbone(TINY_BACKBONE).encoder.state_dict()
    model = JointTrainer(config, tmp_path / "model", show_progress=False).fit(splits)
    tuned = model.network.encoder.state_dict()
    layer0 = [name for name in tuned if name.startswith("encoder.layer.0.")]
    layer1 = [name for name in tuned if name.startswith("encoder.layer.1.")]
    assert layer0 and layer1
    for name in layer0:
        torch.testing.assert_close(tuned[name].cpu(), pretrained[name])
    assert any(not torch.equal(tuned[name].cpu(), pretrained[name]) for name in layer1)


def test_layer_decay_scales_the_learning_rate_by_depth(
    splits: TrainingData, tmp_path: Path
) -> None:
    config = TrainConfig(**{**CONFIG.__dict__, "layer_decay": 0.5, "freeze_embeddings": False})
    trainer = JointTrainer(config, tmp_path, show_progress=False)
    model = trainer._build_model(splits.train, torch.device("cpu"))
    optimizer = trainer._optimizer(model.network)
    rates = sorted({group["lr"] for group in optimizer.param_groups})
    lr = config.learning_rate
    # 2 layers: embeddings at lr·0.5³, layer 0 at lr·0.5², layer 1 at lr·0.5; heads at their own.
    assert rates == sorted({lr * 0.125, lr * 0.25, lr * 0.5, config.head_learning_rate})


def test_early_stopping_waits_for_enough_steps(tmp_path: Path) -> None:
    # A few dozen examples make an epoch of a few steps: patience 1 alone would stop at
    # the second epoch whose dev scores did not improve, long before the model learns.
    config = replace(TINY_JOINT, epochs=3, patience=1, learning_rate=0.0, head_learning_rate=0.0)
    model = JointTrainer(config, tmp_path / "m", show_progress=False).fit(
        tiny_training_data(["en-US"], ["en-US"])
    )
    assert [record["epoch"] for record in model.training["history"]] == [1, 2, 3]


def test_small_data_is_passed_over_again_to_fill_an_epoch() -> None:
    from polynlu.training.trainer import _batches, _steps_per_epoch

    examples = tiny_training_data(["en-US"], ["en-US"]).train[:10]
    batches = _batches(examples, 4, seed=0, at_least=25)
    drawn = sorted(i for batch in batches for i in batch)
    assert drawn == sorted(list(range(10)) * 3)  # three whole passes hold 25
    assert sorted(i for b in _batches(examples, 4, seed=0) for i in b) == list(range(10))
    # The scheduler's step count, derived without drawing an epoch (windows of 50 batches).
    many = examples * 47
    for data, size, at_least in ((examples, 4, 25), (examples, 3, 0), (many, 4, 0), (many, 3, 999)):
        assert len(_batches(data, size, 0, at_least)) == _steps_per_epoch(len(data), size, at_least)


def test_a_run_saved_only_at_its_end_keeps_its_best_epoch(tmp_path: Path) -> None:
    heads: dict[int, dict[str, torch.Tensor]] = {}

    def remember(record: dict[str, Any], model: JointModel) -> None:
        heads[record["epoch"]] = {k: v.clone() for k, v in model.network.heads_state().items()}

    config = replace(TWO_EPOCHS, epochs=3, checkpoint_every_s=3600.0)
    model = JointTrainer(config, tmp_path / "m", show_progress=False, on_epoch=remember).fit(
        tiny_training_data(["en-US"], ["en-US"])
    )
    assert sorted(heads) == [1, 2, 3]
    best = model.training["best_epoch"]
    saved = model.network.heads_state()
    assert all(torch.equal(saved[k], heads[best][k]) for k in saved)


def test_the_anchor_keeps_sentence_embeddings_nearer_the_untrained_encoder(
    tmp_path: Path,
) -> None:
    data = tiny_training_data(["en-US"], ["en-US"])
    texts, locales = [e.utt for e in data.train], [e.locale for e in data.train]
    fast = replace(TINY_JOINT, epochs=3, learning_rate=5e-3)
    untrained = JointTrainer(fast, tmp_path / "u", show_progress=False)
    start = untrained._build_model(data.train, torch.device("cpu")).sentence_embeddings(
        texts, locales
    )

    def drift(anchor_weight: float) -> float:
        config = replace(fast, anchor_weight=anchor_weight)
        model = JointTrainer(config, tmp_path / str(anchor_weight), show_progress=False).fit(data)
        after = model.sentence_embeddings(texts, locales)
        cosine = (start * after).sum(-1) / (
            np.linalg.norm(start, axis=-1) * np.linalg.norm(after, axis=-1)
        )
        return float(1 - cosine.mean())

    assert drift(10.0) < drift(0.0)


def test_alignment_moves_translations_toward_their_sources(tmp_path: Path) -> None:
    """``align_weight`` pulls a translation's sentence embedding toward the untrained
    encoder's embedding of its source (lexicon adaptation), not toward its own."""
    data = tiny_training_data(["en-US"], ["en-US"])
    translations = {
        replace(example, id=f"t{example.id}", locale="de-DE", utt=_reversed(example.utt)): example
        for example in data.train
        if not example.slots
    }
    assert translations
    sources = list(translations.values())
    fast = replace(TINY_JOINT, epochs=3, learning_rate=5e-3)
    untrained = JointTrainer(fast, tmp_path / "u", show_progress=False)
    start = untrained._build_model(data.train, torch.device("cpu")).sentence_embeddings(
        [e.utt for e in sources], [e.locale for e in sources]
    )

    def distance(align_weight: float) -> float:
        config = replace(fast, align_weight=align_weight)
        mixed = replace(data, train=[*data.train, *translations], anchor_sources=translations)
        model = JointTrainer(config, tmp_path / str(align_weight), show_progress=False).fit(mixed)
        after = model.sentence_embeddings(
            [e.utt for e in translations], [e.locale for e in translations]
        )
        cosine = (start * after).sum(-1) / (
            np.linalg.norm(start, axis=-1) * np.linalg.norm(after, axis=-1)
        )
        return float(1 - cosine.mean())

    assert distance(10.0) < distance(0.0)


def _reversed(text: str) -> str:
    return " ".join(reversed(text.split()))


def test_few_shot_data_gets_the_few_shot_recipe() -> None:
    from polynlu.training.config import FEW_SHOT, FEW_SHOT_ONE_INTENT, recipe_for

    train = tiny_training_data(["en-US"], ["en-US"]).train
    assert recipe_for(train, seed=3) == replace(FEW_SHOT, seed=3)
    many = [example for example in train for _ in range(30)]
    assert recipe_for(many) == TrainConfig()
    # Fewer than a thousand examples are few, however many each intent has; with one intent
    # there are only slots to learn.
    two_intents = [replace(example, intent=f"i{n % 2}") for n, example in enumerate(many[:140])]
    assert recipe_for(two_intents) == FEW_SHOT
    one_intent = [replace(example, intent="greet") for example in many[:70]]
    assert recipe_for(one_intent) == FEW_SHOT_ONE_INTENT
