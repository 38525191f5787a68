"""Label projection: alignment, span transfer, MASSIVE pairs, and `polynlu project` → train."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support import TINY, polynlu

from polynlu.augment.projection import (
    MANIFEST_FILE,
    ProjectSettings,
    WordAligner,
    align,
    alignment_units,
    massive_pairs,
    project,
    project_spans,
    read_pairs,
)
from polynlu.data import MassiveData
from polynlu.errors import DataError
from polynlu.models.backbones.registry import load_backbone
from polynlu.text.segmentation import segment
from polynlu.text.spans import Span


def test_argmax_keeps_mutual_best_pairs_and_itermax_adds_the_leftovers() -> None:
    similarity = np.array(
        [
            [0.9, 0.1, 0.2],
            [0.8, 0.3, 0.7],  # its best (0) prefers source 0; target 2 is left to it
            [0.1, 0.95, 0.2],
        ]
    )
    assert align(similarity, "argmax") == {(0, 0), (2, 1)}
    assert align(similarity, "itermax") == {(0, 0), (2, 1), (1, 2)}
    assert align(np.zeros((0, 3))) == set()


def test_grow_lets_a_free_word_join_its_neighbours_partner() -> None:
    # "set alarm tomorrow" → "đặt báo thức ngày mai": one-to-one pairs leave "thức" and
    # "ngày" free; each prefers the source word its aligned neighbour is paired with.
    similarity = np.array(
        [
            [0.9, 0.2, 0.1, 0.1, 0.1],
            [0.1, 0.8, 0.6, 0.1, 0.1],
            [0.1, 0.1, 0.2, 0.7, 0.9],
        ]
    )
    one_to_one = {(0, 0), (1, 1), (2, 4)}
    assert align(similarity, "itermax") == one_to_one
    assert align(similarity, "grow") == one_to_one | {(1, 2), (2, 3)}
    # A free word whose best match is not its neighbour's partner stays free.
    apart = np.array([[0.9, 0.1, 0.5], [0.1, 0.9, 0.2]])
    assert align(apart, "grow") == align(apart, "itermax") == {(0, 0), (1, 1)}


def test_a_slot_goes_to_the_stretch_its_aligned_words_cover() -> None:
    source = segment("wake me at five am")
    target = segment("weck mich um fünf uhr")
    similarity = np.eye(5)
    spans, dropped = project_spans(
        source, target, [Span("time", 11, 18)], {(3, 3), (4, 4)}, similarity
    )
    assert (spans, dropped) == ([Span("time", 13, 21)], 0)  # "fünf uhr"


def test_unaligned_and_overlapped_slots_are_dropped_not_guessed() -> None:
    source = segment("a b c d")
    target = segment("w x y z")
    similarity = np.array([[0.9, 0, 0, 0], [0, 0.5, 0, 0], [0, 0.6, 0, 0], [0, 0, 0, 0]])
    spans, dropped = project_spans(
        source,
        target,
        [Span("one", 0, 1), Span("two", 2, 3), Span("three", 4, 5), Span("four", 6, 7)],
        {(0, 0), (1, 1), (2, 1)},  # b and c both align to x: the better-aligned (c) keeps it
        similarity,
    )
    assert spans == [Span("one", 0, 1), Span("three", 2, 3)]
    assert dropped == 2  # "two" overlapped, "four" aligned to nothing


def test_japanese_and_chinese_align_by_tokenizer_pieces_on_whole_words() -> None:
    text = "明日iphoneを買う"
    pieces = [(0, 2), (2, 5), (5, 8), (8, 9), (9, 11)]  # 明日 | iph | one | を | 買う
    units = alignment_units(text, "ja-JP", pieces)
    assert [unit.text for unit in units] == ["明日", "iphone", "を", "買う"]
    assert alignment_units("wake me", "en-US", [(0, 4), (5, 7)]) == segment("wake me")


def test_massive_pairs_never_carry_the_target_annotation() -> None:
    sources, pairs = massive_pairs(
        MassiveData(TINY), "en-US", ["de-DE"], ["train"], max_per_locale=5, show_progress=False
    )
    assert len(sources) == 5 and len(pairs) == 5
    german = {e.id: e for e in MassiveData(TINY).read(["de-DE"], "train").examples}
    for pair in pairs:
        assert pair.target_text == german[pair.source.id].utt
        assert not hasattr(pair, "slots")  # a pair holds the translation's text only


@pytest.fixture(scope="module")
def e5_aligner() -> WordAligner:
    return WordAligner(load_backbone("multilingual-e5-small", show_progress=False))


def test_the_bundled_encoder_projects_most_tiny_slots_as_gold_has_them(
    e5_aligner: WordAligner,
) -> None:
    """Projected vs gold spans (values and types) on the tiny data's three other locales: a
    real measurement, at a bar a random aligner does not reach."""
    data = MassiveData(TINY)
    _, pairs = massive_pairs(
        data, "en-US", ["de-DE", "ja-JP", "zh-CN"], ["train", "dev"], show_progress=False
    )
    projected = project(pairs, e5_aligner)
    gold = {
        (e.locale, e.id): {(s.label, e.utt[s.start : s.end]) for s in e.slots}
        for e in data.read(["de-DE", "ja-JP", "zh-CN"], None, show_progress=False).examples
    }
    found = {
        (e.locale, e.id): {(s.label, e.utt[s.start : s.end]) for s in e.slots}
        for e in projected.examples
    }
    right = sum(len(found[key] & gold[key]) for key in found)
    precision = right / max(1, sum(len(v) for v in found.values()))
    recall = right / max(1, sum(len(gold[key]) for key in found))
    assert 2 * precision * recall / (precision + recall) >= 0.5
    assert all(
        e.intent == pair.source.intent for e, pair in zip(projected.examples, pairs, strict=True)
    )


@pytest.mark.slow
def test_polynlu_project_writes_data_that_trains_a_model(tmp_path: Path) -> None:
    output = tmp_path / "projected"
    result = polynlu(
        "project", "--data", str(TINY), "--source-locale", "en-US",
        "--target-locales", "de-DE,zh-CN", "--backbone", "tiny-random", "--layer", "1",
        "--output", str(output), "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in output.glob("*.jsonl")) == [
        "de-DE.jsonl",
        "en-US.jsonl",
        "zh-CN.jsonl",
    ]
    manifest = json.loads((output / MANIFEST_FILE).read_text())
    assert manifest["settings"]["layer"] == 1 and manifest["target_locales"] == ["de-DE", "zh-CN"]
    assert manifest["examples"]["de-DE"] == manifest["examples"]["en-US"] == 66
    model = tmp_path / "model"
    trained = polynlu(
        "train", "--data", str(output), "--train-locales", "all", "--backbone", "tiny-random",
        "--epochs", "1", "--batch-size", "16", "--output", str(model), "--no-progress",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert (model / "config.json").is_file()


def test_polynlu_project_refuses_an_unknown_method(tmp_path: Path) -> None:
    result = polynlu(
        "project", "--data", str(TINY), "--method", "nearest", "--output", str(tmp_path / "o")
    )  # fmt: skip
    assert result.returncode != 0
    assert "argmax, itermax, grow" in result.stderr


def test_a_layer_beyond_the_encoder_is_refused() -> None:
    with pytest.raises(ValueError, match="layers 0 to 2"):
        WordAligner(load_backbone("tiny-random"), ProjectSettings(layer=5))


PAIRS = (
    "intent\tsource\ttranslation\tlocale\n"
    "weather_query\twhat is the weather in [place_name : berlin]\twie ist das wetter in berlin"
    "\tde-DE\n"
    "lists_createoradd\tadd [food_type : milk] to my [list_name : shopping] list"
    "\tajoute du lait à ma liste de courses\tfr-FR\n"
    "alarm_set\twake me up at [time : seven am]\tweck mich um sieben uhr auf\t\n"
)


def test_your_own_pairs_are_read_and_projected_with_the_bundled_encoder(
    tmp_path: Path, e5_aligner: WordAligner
) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_text(PAIRS, encoding="utf-8")
    pairs = read_pairs(path, source_locale="en-US", target_locale="de-DE")
    assert [(p.source.intent, p.target_locale) for p in pairs] == [
        ("weather_query", "de-DE"),
        ("lists_createoradd", "fr-FR"),
        ("alarm_set", "de-DE"),  # no locale in the row: --target-locales
    ]
    projected = {
        e.intent: {s.label: e.utt[s.start : s.end] for s in e.slots}
        for e in project(pairs, e5_aligner).examples
    }
    assert projected["weather_query"] == {"place_name": "berlin"}
    assert projected["lists_createoradd"]["food_type"] == "lait"
    assert "sieben" in projected["alarm_set"]["time"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("intent\ttext\n", "pairs.tsv:1: the header is not intent<TAB>source<TAB>translation"),
        (
            "intent\tsource\ttranslation\nalarm_set\twake me at [time : five\tweck mich\n",
            "pairs.tsv:2, field 'source': unbalanced brackets",
        ),
        (
            "intent\tsource\ttranslation\tlocale\nalarm_set\twake me\tweck mich\tgerman\n",
            "pairs.tsv:2, field 'locale': 'german' is not a locale code",
        ),
        (
            "intent\tsource\ttranslation\n\n\twake me\tweck mich\n",
            "pairs.tsv:3, field 'intent': no intent",
        ),
        ("intent\tsource\ttranslation\nalarm_set\twake me\n", "pairs.tsv:2: 2 columns"),
    ],
)
def test_a_bad_pairs_file_is_refused_naming_line_and_column(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as refused:
        read_pairs(path, source_locale="en-US", target_locale="de-DE")
    assert message in str(refused.value)


def test_polynlu_project_takes_a_pairs_file(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(PAIRS, encoding="utf-8")
    output = tmp_path / "projected"
    result = polynlu(
        "project", "--pairs", str(pairs), "--target-locales", "de-DE", "--backbone",
        "tiny-random", "--layer", "1", "--output", str(output), "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    manifest = json.loads((output / MANIFEST_FILE).read_text())
    assert manifest["examples"] == {"de-DE": 2, "en-US": 3, "fr-FR": 1}
    assert manifest["pairs"] == str(pairs) and manifest["target_locales"] == ["de-DE", "fr-FR"]
    assert len(MassiveData(output).read(["fr-FR"], None, show_progress=False).examples) == 1
    both = polynlu("project", "--data", str(TINY), "--pairs", str(pairs), "--output", "x")
    assert both.returncode == 2 and "both were given" in both.stderr
