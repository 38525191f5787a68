"""Toward 1,000 languages: the language table, SIB-200's layout, lexicons, and `polynlu train
--lexicon` → evaluate → serve on tiny data."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import TINY, polynlu

from polynlu import NLU
from polynlu.augment.lexicons import (
    AdaptSettings,
    adapt,
    adapt_with_lexicons,
    target_locale,
    translate,
)
from polynlu.data import massive_locales, parse_locale_list
from polynlu.data.example import example_from_spans
from polynlu.data.formats import detect_format, read_data, write_data
from polynlu.data.lexicons import LexiconReading, read_lexicon, read_lexicons
from polynlu.data.locales import find_language, group_of, languages, locale_for
from polynlu.errors import DataError, PolynluError
from polynlu.text.spans import Span
from polynlu.text.validation import is_locale

ENGLISH = [
    ("1", "sports", "The team won the match in the last minute."),
    ("2", "sports", "She runs every morning before the game."),
    ("3", "health", "The doctor said the water was not safe."),
    ("4", "health", "Children need sleep and good food."),
    ("5", "travel", 'The "old" city is a short trip by train.'),
    ("6", "travel", "Tourists visit the island in summer."),
]
QUECHUA = [
    ("1", "sports", "Equipo atiparqan pukllayta qhipa minutopi."),
    ("3", "health", "Hampiq nirqan yaku mana allinchu kasqanta."),
    ("5", "travel", "Mawka llaqtaqa tren nisqawan qayllallapim."),
]
LEXICON = (
    "the\tchay\nteam\tequipo\nwon\tatiparqan\nmatch\tpukllay\nwater\tyaku\n"
    "doctor\thampiq\ndoctor\thampikamayuq (noun)\ncity\tllaqta; marka\n"
    "short trip\tqaylla puriy\ngame\tpukllay\n"
)


def write_sib(folder: Path) -> Path:
    """A tiny SIB-200 layout: English train + dev, Quechua dev, quoted as pandas writes."""
    for variety, rows, splits in (
        ("eng_Latn", ENGLISH, ("train", "dev")),
        ("quy_Latn", QUECHUA, ("dev",)),
    ):
        for split in splits:
            lines = ["index_id\tcategory\ttext"]
            for index, category, text in rows:
                quoted = '"' + text.replace('"', '""') + '"' if '"' in text else text
                lines.append(f"{index}\t{category}\t{quoted}")
            (folder / variety).mkdir(parents=True, exist_ok=True)
            (folder / variety / f"{split}.tsv").write_text("\n".join(lines) + "\n", "utf-8")
    return folder


def test_the_language_table_ties_flores_bcp47_and_massive_codes() -> None:
    table = languages()
    assert len(table) == 205
    assert all(re.fullmatch(r"[a-z]{3}_[A-Z][a-z]{3}", code) for code in table)
    bcp47 = [language.bcp47 for language in table.values()]
    assert len(bcp47) == len(set(bcp47)), "a lexicon code must name one variety"
    massive = {language.massive for language in table.values() if language.massive}
    assert massive == set(massive_locales()), "every MASSIVE locale, once"
    quechua = find_language("qu")
    assert quechua is not None and quechua.flores == "quy_Latn"
    assert find_language("zh-Hant") == find_language("zh-TW") == find_language("zho_Hant")
    assert locale_for("qu", ["eng_Latn", "quy_Latn"]) == "quy_Latn"
    assert locale_for("es", ["en-US", "es-ES"]) == "es-ES"
    assert locale_for("xx", ["en-US"]) is None
    assert group_of("quy_Latn", "pretraining") == "unseen"
    assert group_of("de-DE", "pretraining") == "seen"
    assert group_of("quy_Latn", "family") == "Quechuan"
    assert parse_locale_list("eng_Latn,quy_Latn", ["eng_Latn", "quy_Latn"]) == [
        "eng_Latn",
        "quy_Latn",
    ]
    assert is_locale("quy_Latn") and is_locale("de-DE") and not is_locale("quy_latn")


def test_sib_folders_read_with_varieties_as_locales(tmp_path: Path) -> None:
    root = write_sib(tmp_path / "sib-200" / "data")
    assert detect_format(tmp_path / "sib-200") == "sib"
    data = read_data(tmp_path / "sib-200")
    assert data.partitioned and data.locales == ["eng_Latn", "quy_Latn"]
    assert data.intents == ["health", "sports", "travel"]
    quoted = next(e for e in data.examples if e.id == "5" and e.locale == "eng_Latn")
    assert quoted.utt == 'The "old" city is a short trip by train.'
    assert all(not e.slots for e in data.examples)
    out = tmp_path / "written"
    assert write_data(data, out, "sib") == []
    again = read_data(out, format="sib")
    assert [(e.id, e.locale, e.partition, e.intent, e.utt) for e in again.examples] == [
        (e.id, e.locale, e.partition, e.intent, e.utt) for e in data.examples
    ]
    (root / "quy_Latn" / "dev.tsv").write_text(
        "index_id\tcategory\ttext\n7\tsports\tok\n8\tsports\n", "utf-8"
    )
    with pytest.raises(DataError, match=r"quy_Latn/dev\.tsv:3: 2 columns"):
        read_data(root)
    assert len(read_data(root, skip_invalid=True).skipped) == 1


def test_a_lexicon_reads_alternatives_drops_notes_and_names_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "en_qu.tsv"
    path.write_text(LEXICON, "utf-8")
    lexicon = read_lexicon(path)
    assert lexicon.code == "qu"
    assert lexicon.entries[("doctor",)] == ["hampiq", "hampikamayuq"]
    assert lexicon.entries[("city",)] == ["llaqta", "marka"]
    assert lexicon.entries[("short", "trip")] == ["qaylla puriy"]
    path.write_text(LEXICON + "broken line\n", "utf-8")
    with pytest.raises(DataError, match=r"en_qu\.tsv:11: 1 column"):
        read_lexicon(path)
    assert len(read_lexicon(path, skip_invalid=True).skipped) == 1
    other = tmp_path / "my words.tsv"
    other.write_text("water\tyaku\n", "utf-8")
    with pytest.raises(PolynluError, match=r"en_<code>\.tsv"):
        read_lexicons(other)


def test_translation_is_word_for_word_and_slots_follow_their_words(tmp_path: Path) -> None:
    (tmp_path / "en_qu.tsv").write_text(LEXICON + "five\tpichqa\nam\ttutamanta\n", "utf-8")
    lexicon = read_lexicons(tmp_path)["qu"]
    example = example_from_spans(
        id="9",
        locale="en-US",
        intent="travel",
        utt="a short trip to the city at five am",
        spans=[Span("place", 16, 24), Span("time", 28, 35)],
    )
    result = translate(example, lexicon, "quy_Latn", random.Random(0))
    new = result.example
    assert new.locale == "quy_Latn" and new.intent == "travel"
    assert new.utt.startswith("a qaylla puriy to chay ")  # the phrase, then word by word
    place, time = ((s.label, new.utt[s.start : s.end]) for s in new.slots)
    assert place in {("place", "chay llaqta"), ("place", "chay marka")}  # drawn at random
    assert time == ("time", "pichqa tutamanta")
    assert (result.words, result.translated) == (9, 6)  # "a", "to" and "at" stay
    # Without the words the lexicon lacks; a slot keeps all of its words.
    dropped = translate(example, lexicon, "quy_Latn", random.Random(0), keep_unknown=False)
    assert dropped.example.utt.startswith("qaylla puriy chay ")
    assert [dropped.example.utt[s.start : s.end] for s in dropped.example.slots][1] == (
        "pichqa tutamanta"
    )
    unknown_slot = example_from_spans(
        id="11", locale="en-US", intent="travel", utt="Lima is a city !", spans=[Span("p", 0, 4)]
    )
    kept = translate(unknown_slot, lexicon, "quy_Latn", random.Random(0), keep_unknown=False)
    assert kept.example.utt in {"Lima llaqta !", "Lima marka !"}  # punctuation stays too
    assert kept.example.utt[:4] == "Lima" and kept.example.slots[0].end == 4
    # A phrase whose words a slot edge divides is not used whole.
    cut = example_from_spans(
        id="10", locale="en-US", intent="travel", utt="short trip", spans=[Span("x", 0, 5)]
    )
    assert translate(cut, lexicon, "quy_Latn", random.Random(0)).example.utt == "short trip"


def test_adaptation_names_locales_as_the_data_does_and_samples_per_locale(tmp_path: Path) -> None:
    (tmp_path / "en_qu.tsv").write_text(LEXICON, "utf-8")
    (tmp_path / "en_es.tsv").write_text("the\tel\nmatch\tpartido\n", "utf-8")
    english = [
        example_from_spans(id=i, locale="eng_Latn", intent=c, utt=t, spans=[])
        for i, c, t in ENGLISH
    ]
    assert target_locale("qu", ["eng_Latn", "quy_Latn"]) == "quy_Latn"
    assert target_locale("es", ["en-US"]) == "es-ES"  # MASSIVE's, when the data lacks it
    adaptation = adapt_with_lexicons(
        english,
        tmp_path,
        ["eng_Latn", "quy_Latn"],
        "qu",
        AdaptSettings(mode="translate", per_locale=4),
    )
    assert {e.locale for e in adaptation.examples} == {"quy_Latn"}
    assert len(adaptation.examples) == 4
    assert 0 < adaptation.coverage["quy_Latn"] < 1
    for same_sources in (False, True):
        settings = AdaptSettings(mode="translate", per_locale=3, same_sources=same_sources)
        made = adapt_with_lexicons(english, tmp_path, ["eng_Latn"], "qu,es", settings).examples
        ids = [{e.id for e in made if e.locale == locale} for locale in ("quy_Latn", "es-ES")]
        assert (ids[0] == ids[1]) is same_sources  # by default a sample of its own each
    with pytest.raises(PolynluError, match=r"no lexicon .* for 'fr'"):
        adapt_with_lexicons(english, tmp_path, ["eng_Latn"], "fr")
    with pytest.raises(PolynluError, match="needs English examples"):
        adapt([], {"quy_Latn": read_lexicons(tmp_path)["qu"]})
    (tmp_path / "en_qu.tsv").write_text(LEXICON + "broken line\n", "utf-8")
    adaptation = adapt_with_lexicons(english, tmp_path, ["eng_Latn"], "qu", skip_invalid=True)
    assert [error.line for error in adaptation.skipped] == [11], "reported, not lost"


def test_code_switching_with_lexicons_mixes_their_languages_in_english_copies(
    tmp_path: Path,
) -> None:
    (tmp_path / "en_qu.tsv").write_text(LEXICON, "utf-8")
    (tmp_path / "en_es.tsv").write_text("the\tel\nteam\tequipo\nwon\tganó\n", "utf-8")
    english = [
        example_from_spans(id=i, locale="eng_Latn", intent=c, utt=t, spans=[])
        for i, c, t in ENGLISH
    ]
    every_word = AdaptSettings(mode="code-switch", code_switch_share=1.0, code_switch_rate=1.0)
    adaptation = adapt_with_lexicons(english, tmp_path, ["eng_Latn"], "qu,es", every_word)
    assert [e.id for e in adaptation.examples] == [f"{i}-cs" for i, _, _ in ENGLISH]
    assert {e.locale for e in adaptation.examples} == {"eng_Latn"}  # mixed: stays English
    assert [e.intent for e in adaptation.examples] == [c for _, c, _ in ENGLISH]
    first = adaptation.examples[0].utt  # "The team won the match …": every word both have
    assert re.match(r"(chay|el) equipo (atiparqan|ganó) (chay|el) pukllay in ", first)
    assert adaptation.sources[adaptation.examples[0]] is english[0]
    assert set(adaptation.lexicons) == {"quy_Latn", "es-ES"}
    assert adaptation.coverage["es-ES"] < adaptation.coverage["quy_Latn"] < 1
    assert adaptation.swapped is not None and 0 < adaptation.swapped < 1
    # The copies are trained in place of their sources: as many examples as before.
    assert adaptation.with_adaptation(english) == adaptation.examples
    # Over many sentences, "the" is drawn from both languages.
    many = adapt(english * 20, adaptation.lexicons, every_word).examples
    assert {"chay", "el"} <= {e.utt.split()[0] for e in many if e.id.startswith("1")}
    # By default half of the examples, and half of the words the lexicons have.
    half = adapt(english * 20, adaptation.lexicons, AdaptSettings(mode="code-switch"))
    assert 0.3 < len(half.examples) / 120 < 0.7
    assert len(half.with_adaptation(english * 20)) == 120
    assert half.swapped is not None
    assert 0.3 * adaptation.swapped < half.swapped < 0.7 * adaptation.swapped
    # Translating adds beside the English, one set a language.
    translated = adapt(english, adaptation.lexicons, AdaptSettings(mode="translate"))
    assert len(translated.with_adaptation(english)) == 3 * len(english)


def test_train_with_a_lexicon_then_evaluate_and_serve_intent_only_data(
    tmp_path: Path, serve_command: object
) -> None:
    sib = write_sib(tmp_path / "sib")
    lexicons = tmp_path / "lexicons"
    lexicons.mkdir()
    (lexicons / "en_qu.tsv").write_text(LEXICON, "utf-8")
    model = tmp_path / "model"
    trained = polynlu(
        "train", "--data", str(sib), "--train-locales", "eng_Latn", "--output", str(model),
        "--backbone", "tiny-random", "--epochs", "1", "--max-length", "32",
        "--lexicon", str(lexicons), "--adapt-mode", "translate", "--adapt-align",
        "--adapt-drop-unknown", "--no-progress",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert "align_weight 3.0" in trained.stdout  # the settings line says alignment is on
    assert "Lexicon adaptation" in trained.stdout and "quy_Latn" in trained.stdout
    assert "on 12 utterances from 2 locale(s)" in trained.stdout  # 6 English + 6 translated
    config = json.loads((model / "config.json").read_text("utf-8"))
    assert set(config["train_locales"]) == {"eng_Latn", "quy_Latn"}
    assert config["slot_labels"] == ["Other"]  # no slot types: an intent head alone
    report = tmp_path / "eval"
    evaluated = polynlu(
        "evaluate", str(model), "--data", str(sib), "--output", str(report), "--no-progress",
        "--lexicon", str(lexicons),
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads((report / "metrics.json").read_text("utf-8"))
    assert metrics["meta"]["lexicon"] == str(lexicons)
    assert metrics["scored"] == ["intent_acc"]
    assert set(metrics["locales"]) == {"eng_Latn", "quy_Latn"}
    assert set(metrics["groups"]["pretraining"]) == {"seen", "unseen"}
    markdown = (report / "report.md").read_text("utf-8")
    assert "Intent acc." in markdown and "Slot F1" not in markdown
    with serve_command(model, "--lexicon", str(lexicons)) as url:  # type: ignore[operator]
        answer = httpx.post(
            f"{url}/v1/parse", json={"text": "chay equipo atiparqan", "locale": "quy_Latn"}
        ).json()
    assert answer["intent"] in {"sports", "health", "travel"}
    assert answer["locale"] == "quy_Latn" and answer["zero_shot"] is False


def test_a_lexicon_reads_requests_back_into_english(tmp_path: Path) -> None:
    (tmp_path / "en_qu.tsv").write_text(LEXICON, "utf-8")
    reading = LexiconReading.read(tmp_path)
    assert reading.languages == ["quy_Latn"]
    # The longest run the lexicon has; words it lacks stay; any code system names the language.
    assert reading("Equipo atiparqan pukllayta!", "quy_Latn") == "team won pukllayta !"
    assert reading("qaylla puriy llaqtaman", "qu") == "short trip llaqtaman"
    assert reading("pukllay", "quy_Latn") in {"match", "game"}
    assert reading("Equipo atiparqan", "de-DE") is None  # no lexicon for the language
    assert reading("mana allinchu", "quy_Latn") is None  # none of its words


def test_a_lexicon_reads_words_written_with_combining_marks(tmp_path: Path) -> None:
    # Devanagari's vowel signs are combining marks: the reading must match whole words.
    (tmp_path / "en_hi.tsv").write_text("speed\tगति\nhalf\tआधा\nhalf\tआधे\n", "utf-8")
    reading = LexiconReading.read(tmp_path)
    assert reading("आधे-मील पर गति.", "hin_Deva") == "half - मील पर speed ."


def test_the_intent_comes_from_the_request_and_its_reading(
    tiny_joint: tuple[Any, Path],
) -> None:
    model, _ = tiny_joint
    text, reading = "pon una alarma", "wake me up at five am"
    alone = NLU(model).parse(text, locale="es-ES")
    both = NLU(model, reader=lambda t, locale: reading if t == text else None)
    read = both.parse(text, locale="es-ES")
    own, english = model.probabilities([text, reading], ["es-ES", None])
    mean = (own.intent_probs + english.intent_probs) / 2
    assert read.intent == model.intents[int(mean.argmax())]
    assert read.slots == alone.slots  # slots stay the request's own
    assert both.parse("anything else", locale="es-ES") == NLU(model).parse(
        "anything else", locale="es-ES"
    )


def test_a_lexicon_adapts_slot_data_too(tmp_path: Path) -> None:
    lexicon = tmp_path / "en_es.tsv"
    lexicon.write_text("wake\tdespierta\nme\tme\nup\t-\nat\ta las\nfive\tcinco\n", "utf-8")
    model = tmp_path / "model"
    trained = polynlu(
        "train", "--data", str(TINY), "--output", str(model), "--model", "baseline",
        "--lexicon", str(lexicon), "--adapt-mode", "translate", "--no-progress",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    config = json.loads((model / "config.json").read_text("utf-8"))
    assert set(config["train_locales"]) == {"en-US", "es-ES"}
    assert len(config["slot_labels"]) > 1, "the translated examples keep their slots"
    switched = polynlu(
        "train", "--data", str(TINY), "--output", str(model), "--model", "baseline",
        "--lexicon", str(lexicon), "--no-progress",  # code-switching is the default
    )  # fmt: skip
    assert switched.returncode == 0, switched.stderr
    assert re.search(r"Code-switched \d+ English utterances \(trained in place", switched.stdout)
    config = json.loads((model / "config.json").read_text("utf-8"))
    assert config["train_locales"] == ["en-US"]  # the copies are mixed, so English
    assert config["provenance"]["training"]["data"].endswith("(code-switch)")
    refused = polynlu("train", "--data", str(TINY), "--output", str(model), "--adapt-locales", "qu")
    assert refused.returncode != 0 and "need --lexicon" in refused.stderr
    refused = polynlu(
        "train", "--data", str(TINY), "--output", str(model), "--lexicon", str(lexicon),
        "--adapt-per-locale", "5",
    )  # fmt: skip
    assert refused.returncode != 0 and "add --adapt-mode translate" in refused.stderr
    refused = polynlu("train", "--data", str(TINY), "--output", str(model), "--adapt-mode", "x")
    assert refused.returncode != 0 and "--adapt-mode 'x'" in refused.stderr
