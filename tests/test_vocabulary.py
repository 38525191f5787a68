"""New vocabulary pieces from lexicons, for scripts the tokenizer lacks: what is added, how it
is embedded, what it leaves alone, and `polynlu extend-vocabulary` → parse → export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from support import fit_baseline, polynlu, tiny_split

from polynlu import NLU
from polynlu.data.lexicons import read_lexicons
from polynlu.models.backbones.registry import TINY_BACKBONE, Backbone, load_backbone
from polynlu.models.backbones.vocabulary import NEW_PIECE_SCORE, extend_vocabulary
from polynlu.models.base import load_model
from polynlu.training.config import BaselineConfig

TIBETAN = "history\tལོ་རྒྱུས་\nwater\tཆུ\nriver\tཆུ་བོ\nbig house\tཁང་ཆེན\nbig house\tཁང་ཆེན་ཆེན་པོ\n"
"""Tibetan writes no spaces between words and ends syllables with a tsheg (་)."""
TIFINAGH = "a\tⴰ\nhouse\tⵜⴰⴷⴷⴰⵔⵜ\n"
SPANISH = "water\tagua\nhistory\thistoria\n"
OTHER_TEXT = ["The river floods the old city.", "El agua del río", "Вода", "水が流れる"]


def write_lexicons(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for code, text in (("bo", TIBETAN), ("ber", TIFINAGH), ("es", SPANISH)):
        (folder / f"en_{code}.tsv").write_text(text, "utf-8")
    return folder


@pytest.fixture
def backbone() -> Backbone:
    return load_backbone(TINY_BACKBONE, show_progress=False)


def ids(backbone: Backbone, text: str) -> list[int]:
    return backbone.tokenizer.encode(text, add_special_tokens=False).ids


def test_words_of_a_missing_script_become_pieces_embedded_from_their_english(
    backbone: Backbone, tmp_path: Path
) -> None:
    tokenizer = backbone.tokenizer
    unknown = tokenizer.token_to_id("<unk>")
    before_rows = backbone.encoder.get_input_embeddings().weight.shape[0]
    table = backbone.encoder.get_input_embeddings().weight.detach().clone()
    other_before = [ids(backbone, text) for text in OTHER_TEXT]
    assert unknown in ids(backbone, "ལོ་རྒྱུས་ཆུ")

    extension = extend_vocabulary(backbone, read_lexicons(write_lexicons(tmp_path)))

    by_code = {language.code: language for language in extension.languages}
    assert by_code["bo"].unknown_share == 1.0 and by_code["bo"].pieces > 0
    assert by_code["es"].unknown_share == 0.0 and by_code["es"].pieces == 0
    assert extension.added == by_code["bo"].pieces + by_code["ber"].pieces
    new = backbone.tokenizer
    assert new.get_vocab_size() == extension.vocabulary_size
    rows = backbone.encoder.get_input_embeddings().weight.shape[0]
    assert rows == max(before_rows, extension.vocabulary_size) > before_rows
    # Tibetan: whole words, also inside a run without spaces, with or without the tsheg.
    tokens = new.encode("ལོ་རྒྱུས་ཆུ་བོ", add_special_tokens=False).tokens
    assert tokens == ["▁ལོ་རྒྱུས་", "ཆུ་བོ"]
    assert unknown not in ids(backbone, "ལོ་རྒྱུས ཆུ")
    # A word of a longer translation is a piece too, with that phrase's English.
    assert new.token_to_id("▁ཁང་ཆེན") is not None
    # Tifinagh is written with spaces: a piece starts a word, so the one-letter ⴰ ("a") is
    # not found inside other words.
    assert new.encode("ⵜⴰⴷⴷⴰⵔⵜ ⴰ", add_special_tokens=False).tokens == ["▁ⵜⴰⴷⴷⴰⵔⵜ", "▁ⴰ"]
    assert new.token_to_id("ⴰ") is None
    # Text the tokenizer read without <unk> reads exactly as before.
    assert [ids(backbone, text) for text in OTHER_TEXT] == other_before
    # The embedding of "water" (ཆུ): the direction of the mean of water's sub-word
    # embeddings, with their typical length.
    water = tokenizer.encode("water", add_special_tokens=False).ids
    pieces = table[[i for i in water if tokenizer.id_to_token(i) != "▁"] or water]
    vector = backbone.encoder.get_input_embeddings().weight[new.token_to_id("▁ཆུ")].detach()
    mean = pieces.mean(0)
    cosine = torch.nn.functional.cosine_similarity(vector, mean, dim=0).item()
    assert cosine == pytest.approx(1, abs=1e-5)
    assert vector.norm().item() == pytest.approx(pieces.norm(dim=1).mean().item(), rel=1e-5)
    scores = dict(json.loads(new.to_str())["model"]["vocab"][-extension.added :])
    assert set(scores.values()) == {NEW_PIECE_SCORE}
    # The same lexicons give the same pieces in the same order (a checkpoint's rows match).
    again = load_backbone(TINY_BACKBONE, show_progress=False)
    extend_vocabulary(again, read_lexicons(tmp_path))
    assert again.tokenizer.to_str() == new.to_str()


def test_extend_vocabulary_saves_a_model_that_parses_loads_and_exports(
    tiny_joint: tuple[Any, Path], tmp_path: Path
) -> None:
    _, folder = tiny_joint
    lexicons = write_lexicons(tmp_path / "lexicons")
    output = tmp_path / "extended"
    result = polynlu(
        "extend-vocabulary", str(folder), "--lexicon", str(lexicons), "--output", str(output)
    )
    assert result.returncode == 0, result.stderr
    assert "bo" in result.stdout and "1 lexicon(s) were in scripts it already had" in result.stdout
    record = load_model(output).provenance.vocabulary_extensions
    assert record[0]["languages"]["bo"]["lexicon"] == str(lexicons / "en_bo.tsv")
    assert set(record[0]["languages"]) == {"bo", "ber"}
    # Other languages are read as before; Tibetan now without <unk>.
    english = ["wake me up at five am", "pon una alarma"]
    mine, theirs = NLU.load(output), NLU.load(folder)
    for a, b in zip(mine.parse_batch(english), theirs.parse_batch(english), strict=True):
        assert a.intent == b.intent and a.confidence == pytest.approx(b.confidence, abs=1e-5)
    assert mine.parse("ལོ་རྒྱུས་ཆུ", locale="bod_Tibt").intent in mine.model.intents
    # Loading with the lexicons gives the pieces in memory, beside the reading; the folder's
    # record does not claim them, since its weights do not have them.
    in_memory = NLU.load(folder, lexicon=lexicons)
    assert in_memory.model.provenance.vocabulary_extensions == []
    read_saved = NLU.load(output, lexicon=lexicons)
    for a, b in zip(
        in_memory.parse_batch(["ལོ་རྒྱུས་ཆུ", "ⵜⴰⴷⴷⴰⵔⵜ"], ["bod_Tibt", "tzm_Tfng"]),
        read_saved.parse_batch(["ལོ་རྒྱུས་ཆུ", "ⵜⴰⴷⴷⴰⵔⵜ"], ["bod_Tibt", "tzm_Tfng"]),
        strict=True,
    ):
        assert a.intent == b.intent and a.confidence == pytest.approx(b.confidence, abs=1e-5)
    # The ONNX export carries the new pieces in its tokenizer.json.
    exported = polynlu("export", str(output), "--output", str(tmp_path / "onnx"))
    assert exported.returncode == 0, exported.stderr
    onnx = NLU.load(tmp_path / "onnx")
    torch_answer = mine.parse("ལོ་རྒྱུས་ཆུ", locale="bod_Tibt")
    onnx_answer = onnx.parse("ལོ་རྒྱུས་ཆུ", locale="bod_Tibt")
    assert onnx_answer.intent == torch_answer.intent
    assert onnx_answer.confidence == pytest.approx(torch_answer.confidence, abs=1e-4)


def test_training_with_a_lexicon_in_a_missing_script_extends_the_vocabulary_first(
    tmp_path: Path,
) -> None:
    sib = tmp_path / "sib"
    rows = {
        "eng_Latn": ["history\tThe history of the river.", "health\tWater is good for you."],
        "bod_Tibt": ["history\tཆུ་བོའི་ལོ་རྒྱུས།", "health\tཆུ་ནི་ཡག་པོ་རེད།"],
    }
    for variety, lines in rows.items():
        (sib / variety).mkdir(parents=True)
        table = "index_id\tcategory\ttext\n" + "".join(
            f"{i}\t{line}\n" for i, line in enumerate(lines)
        )
        for split in ("train", "dev"):
            (sib / variety / f"{split}.tsv").write_text(table, "utf-8")
    lexicons = write_lexicons(tmp_path / "lexicons")
    common = [
        "train", "--data", str(sib), "--train-locales", "eng_Latn", "--backbone", "tiny-random",
        "--epochs", "1", "--max-length", "32", "--lexicon", str(lexicons),
        "--adapt-locales", "bo,es", "--no-progress",
    ]  # fmt: skip
    trained = polynlu(*common, "--output", str(tmp_path / "extended"))
    assert trained.returncode == 0, trained.stderr
    extension = load_model(tmp_path / "extended").provenance.vocabulary_extensions
    assert list(extension[0]["languages"]) == ["bod_Tibt"], "Spanish needs no new pieces"
    plain = polynlu(*common, "--no-extend-vocabulary", "--output", str(tmp_path / "plain"))
    assert plain.returncode == 0, plain.stderr
    assert load_model(tmp_path / "plain").provenance.vocabulary_extensions == []


def test_extend_vocabulary_says_when_there_is_nothing_to_add_or_no_encoder(
    tiny_joint: tuple[Any, Path], tmp_path: Path
) -> None:
    _, folder = tiny_joint
    (tmp_path / "en_es.tsv").write_text(SPANISH, "utf-8")
    refused = polynlu(
        "extend-vocabulary", str(folder), "--lexicon", str(tmp_path / "en_es.tsv"),
        "--output", str(tmp_path / "out"),
    )  # fmt: skip
    assert refused.returncode != 0
    assert "nothing to add" in refused.stderr and "at most 0%" in refused.stderr
    assert not (tmp_path / "out").exists()
    baseline = fit_baseline(tiny_split(["en-US"], "train"), BaselineConfig())
    baseline.save(tmp_path / "baseline")
    lexicons = write_lexicons(tmp_path / "lexicons")
    refused = polynlu(
        "extend-vocabulary", str(tmp_path / "baseline"), "--lexicon", str(lexicons),
        "--output", str(tmp_path / "out"),
    )  # fmt: skip
    assert refused.returncode != 0 and "needs a joint model" in refused.stderr
