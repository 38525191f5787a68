"""Code-switched copies of English data, with word translations induced from the encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import TINY, polynlu

from polynlu.augment.code_switch import (
    CodeSwitchSettings,
    candidate_words,
    code_switch,
    code_switched,
    english_words,
    induce_lexicon,
)
from polynlu.data import MassiveData
from polynlu.data.example import example_from_spans
from polynlu.data.lexicons import Lexicon, read_lexicon
from polynlu.errors import PolynluError
from polynlu.models.backbones.registry import TINY_BACKBONE, load_backbone
from polynlu.text.spans import Span


def test_the_bundled_encoder_finds_translations_and_passes_over_english_forms() -> None:
    """A real measurement on a small candidate list: the translations rank above unrelated
    words, and the English word's own forms are never taken for translations."""
    backbone = load_backbone("multilingual-e5-small", show_progress=False)
    candidates = [
        "Wetter", "tiempo", "погода", "날씨",  # weather
        "musique", "música", "Musik", "音楽",  # music
        "weathers", "Weather", "musics",  # English forms: passed over
        "chaise", "Tisch", "fenêtre", "дерево", "banane", "Schlüssel",  # unrelated
    ]  # fmt: skip
    settings = CodeSwitchSettings(neighbours=4)
    lexicon = induce_lexicon(backbone, ["weather", "music"], settings, candidates=candidates)
    weather, music = lexicon.entries[("weather",)], lexicon.entries[("music",)]
    assert len(weather) == len(music) == 4
    assert len(set(weather) & {"Wetter", "tiempo", "погода", "날씨"}) >= 3
    assert len(set(music) & {"musique", "música", "Musik", "音楽"}) >= 3
    assert not {"weathers", "Weather", "musics"} & {*weather, *music}


def test_words_are_swapped_at_the_rate_asked_and_slots_follow_their_words() -> None:
    lexicon = Lexicon("code-switch", "test")
    lexicon.entries = {
        ("wake",): ["réveille"],
        ("me",): ["moi"],
        ("up",): ["haut"],
        ("at",): ["à"],
        ("five",): ["cinq", "fünf"],
        ("am",): ["matin"],
    }
    example = example_from_spans(
        id="7",
        locale="en-US",
        intent="alarm_set",
        utt="wake me up at five am",
        spans=[Span("time", 14, 21)],
    )
    german = example_from_spans(
        id="8", locale="de-DE", intent="alarm_set", utt="weck mich", spans=[]
    )
    everything = code_switch([example, german], lexicon, CodeSwitchSettings(rate=1.0, copies=2))
    assert [e.id for e in everything.examples] == ["7-cs0", "7-cs1"]  # English only
    new = everything.examples[0]
    assert new.locale == "en-US" and new.intent == "alarm_set"
    assert new.utt.startswith("réveille moi haut à ")
    assert [(s.label, new.utt[s.start : s.end]) for s in new.slots] in (
        [("time", "cinq matin")],
        [("time", "fünf matin")],
    )
    assert everything.swapped == 1.0
    # At 0.5 about half the words are swapped, each on its own.
    many = code_switch([example] * 400, lexicon, CodeSwitchSettings(rate=0.5, seed=3))
    assert 0.45 < many.swapped < 0.55
    assert len({e.utt for e in many.examples}) > 30


def test_the_induced_lexicon_is_written_as_a_tsv_that_reads_back(tmp_path: Path) -> None:
    lexicon = Lexicon("code-switch", "test")
    lexicon.entries = {("weather",): ["Wetter", "tiempo"], ("play",): ["jouer"]}
    path = tmp_path / "en_xx.tsv"
    lexicon.write(path)
    assert read_lexicon(path).entries == lexicon.entries


def test_code_switched_copies_of_the_tiny_data_with_the_tiny_encoder() -> None:
    backbone = load_backbone(TINY_BACKBONE, show_progress=False)
    candidates = candidate_words(backbone)
    assert len(candidates) > 100_000  # the tokenizer's whole words, in many scripts
    assert not any(word.startswith("▁") or ";" in word for word in candidates)
    data = MassiveData(TINY)
    examples = data.read(data.locales, "train", show_progress=False).examples
    english = [e for e in examples if e.locale == "en-US"]
    # A sample of the candidates in every script: `polynlu train --code-switch` (below)
    # embeds them all.
    switched = code_switched(examples, backbone, candidates=candidates[::20], show_progress=False)
    assert len(switched.examples) == len(english)
    assert set(switched.lexicon.entries) == {(word,) for word in english_words(english)}
    assert 0.3 < switched.swapped < 0.7
    for original, copy in zip(english, switched.examples, strict=True):
        assert copy.intent == original.intent
        assert [s.label for s in copy.slots] == [s.label for s in original.slots]


def test_code_switching_settings_are_checked() -> None:
    with pytest.raises(PolynluError, match="rate"):
        CodeSwitchSettings(rate=0.0)
    with pytest.raises(PolynluError, match="English"):
        code_switched([], load_backbone(TINY_BACKBONE, show_progress=False))


def test_polynlu_train_code_switches_a_share_of_the_english_data(tmp_path: Path) -> None:
    model = tmp_path / "model"
    trained = polynlu(
        "train", "--data", str(TINY), "--train-locales", "en-US", "--output", str(model),
        "--backbone", TINY_BACKBONE, "--epochs", "1", "--max-length", "32",
        "--code-switch", "0.5", "--no-progress",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert "Code-switched 50% of the" in trained.stdout
    config = json.loads((model / "config.json").read_text("utf-8"))
    assert config["provenance"]["training"]["data"].endswith("50% of English code-switched")
    assert config["train_locales"] == ["en-US"]  # the switched copies stay English examples
    baseline = polynlu(
        "train", "--data", str(TINY), "--model", "baseline", "--output", str(tmp_path / "b"),
        "--code-switch", "0.5", "--no-progress",
    )  # fmt: skip
    assert baseline.returncode != 0 and "--code-switch needs --model joint" in baseline.stderr
