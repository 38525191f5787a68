"""The formats people already have: each read into Examples with its own labels, written back,
and refused with file:line/field errors where a row cannot be read."""

import re
from pathlib import Path

import pytest

from polynlu.data.example import DataSet
from polynlu.data.formats import DATA_FORMATS, detect_format, read_data, write_data
from polynlu.errors import DataError

DATA = Path(__file__).parent / "data"

RASA = """version: "3.1"
nlu:
- intent: book_table
  examples: |
    - book a table for [two](party_size) at [8 pm](time)
    - table for [four](party_size) in [NYC]{"entity": "city", "value": "New York City"}, please
    - reserve in [big apple](city:New York City) for [six](party_size)
- intent: check_balance
  examples: |
    - what's my balance
    - how much money is on my [savings](account) account?
- synonym: New York City
  examples: |
    - nyc
- lookup: city
  examples: |
    - paris
    - berlin
- regex: account_number
  examples: |
    - \\d{10,12}
"""

NATIVE = """polynlu: 1
locale: en-US
intents:
  book_table:
    scenario: restaurant
    examples:
      en-US: |
        book a table for [party_size : two] at [time : 8 pm]
      de-DE: |
        reserviere einen tisch für [party_size : zwei]
  check_balance:
    examples: |
      what's my balance
slots:
  city:
    synonyms:
      New York City: [nyc, big apple]
    lookup: [paris, berlin]
"""

SNIPS = """{"language": "de", "intents": {"book_table": {"utterances": [
  {"data": [{"text": "tisch für "}, {"text": "zwei", "entity": "snips/number",
   "slot_name": "party_size"}, {"text": " in "}, {"text": "Köln", "entity": "city"}, {"text": "."}]}
]}}, "entities": {"city": {"data": [{"value": "Köln", "synonyms": ["Koeln", "Cologne"]}],
  "use_synonyms": true, "automatically_extensible": true}}}"""

CONLL = """# id = 1
# text = wake me up at five am
# intent = alarm_set
1\twake\talarm_set\tO
2\tme\talarm_set\tO
3\tup\talarm_set\tO
4\tat\talarm_set\tO
5\tfive\talarm_set\tB-time
6\tam\talarm_set\tI-time

# intent = play_music
play\tO
jazz\tB-genre
on\tO
Youtube\tB-service
.\tO
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {
        "rasa": tmp_path / "nlu.yml",
        "polynlu": tmp_path / "assistant.yml",
        "snips": tmp_path / "dataset.json",
        "conll": tmp_path / "train.conll",
    }
    for name, text in (("rasa", RASA), ("polynlu", NATIVE), ("snips", SNIPS), ("conll", CONLL)):
        made[name].write_text(text, "utf-8")
    return made


def spans(data: DataSet) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    return [
        (e.locale, e.intent, e.utt, [(s.label, e.utt[s.start : s.end]) for s in e.slots])
        for e in data.examples
    ]


def test_each_format_is_detected_and_read_with_its_own_labels(files: dict[str, Path]) -> None:
    for name, path in files.items():
        assert detect_format(path) == name
    rasa = read_data(files["rasa"])
    assert rasa.intents == ["book_table", "check_balance"]
    assert rasa.slot_types == ["account", "city", "party_size", "time"]
    assert spans(rasa)[1] == (
        "en-US", "book_table", "table for four in NYC, please",
        [("party_size", "four"), ("city", "NYC")],
    )  # fmt: skip
    assert rasa.synonyms["city"]["New York City"] == ["NYC", "big apple"]
    assert rasa.synonyms[""]["New York City"] == ["nyc"]
    assert rasa.lookups == {"city": ["paris", "berlin"]}
    assert rasa.regexes == {"account_number": ["\\d{10,12}"]}
    native = read_data(files["polynlu"])
    assert native.locales == ["de-DE", "en-US"] and native.examples[0].scenario == "restaurant"
    assert spans(native)[1] == ("de-DE", "book_table", "reserviere einen tisch für zwei",
                                [("party_size", "zwei")])  # fmt: skip
    snips = read_data(files["snips"])
    assert spans(snips) == [("de-DE", "book_table", "tisch für zwei in Köln.",
                             [("party_size", "zwei"), ("city", "Köln")])]  # fmt: skip
    assert snips.synonyms == {"city": {"Köln": ["Koeln", "Cologne"]}}
    conll = read_data(files["conll"])
    assert spans(conll) == [
        ("en-US", "alarm_set", "wake me up at five am", [("time", "five am")]),
        ("en-US", "play_music", "play jazz on Youtube .",
         [("genre", "jazz"), ("service", "Youtube")]),
    ]  # fmt: skip


def test_a_slot_before_punctuation_gets_words_of_its_own(files: dict[str, Path]) -> None:
    example = read_data(files["rasa"]).examples[1]  # "... in NYC, please"
    assert ("NYC", "city") in zip([w.text for w in example.words], example.labels, strict=True)
    assert (",", "Other") in zip([w.text for w in example.words], example.labels, strict=True)


@pytest.mark.parametrize("target", ["massive", "polynlu", "rasa", "snips", "conll"])
def test_every_format_round_trips_what_it_can_hold(
    files: dict[str, Path], tmp_path: Path, target: str
) -> None:
    source = read_data(files["polynlu"])
    out = tmp_path / ("out" if target == "massive" else f"out.{target}")
    losses = write_data(source, out, target)
    if target in ("rasa", "snips"):  # one locale a file: read each back
        back = [
            example
            for locale in source.locales
            for example in read_data(
                out.with_name(f"out.{locale}{'.json' if target == 'snips' else '.rasa'}"),
                format=target,
                locale=locale,
            ).examples
        ]
        assert any("locale" in loss for loss in losses)
    else:
        back = read_data(out, format=target).examples
    assert sorted(spans(DataSet(back, "", ""))) == sorted(spans(source))
    holds_synonyms = target in ("polynlu", "rasa", "snips")
    assert any("synonyms" in loss for loss in losses) != holds_synonyms


@pytest.mark.parametrize(
    ("name", "content", "message", "good"),
    [
        (
            "nlu.yml",
            "nlu:\n- intent: greet\n  examples: |\n    - hello\n    hi there\n    - hey\n",
            r"nlu\.yml:5: an example line must start with '- '",
            ["hello", "hey"],
        ),
        (
            "own.yml",
            "polynlu: 1\nintents:\n  greet:\n    examples: |\n      hello\n      hi [name : bob\n",
            r"own\.yml:6, field 'example': unbalanced brackets",
            ["hello"],
        ),
        (
            "bad.conll",
            "# intent = greet\nhi\tX-name\n\n# intent = greet\nhello\tO\n",
            r"bad\.conll:2: tag 'X-name' is neither O nor B-/I-slot",
            ["hello"],
        ),
        (
            "bad.json",
            '{"Greet": [{"data": [{"text": "hi"}]}, {"data": [{"txt": "x"}]}]}',
            r"bad\.json, field 'Greet\[1\]\.data\[0\]': a chunk needs a 'text' string",
            ["hi"],
        ),
    ],
)
def test_unreadable_rows_name_the_file_line_and_field(
    tmp_path: Path, name: str, content: str, message: str, good: list[str]
) -> None:
    """A bad row stops the reading with its place named, or with ``skip_invalid`` is left
    out and listed, the good rows around it kept."""
    path = tmp_path / name
    path.write_text(content, "utf-8")
    with pytest.raises(DataError, match=message):
        read_data(path)
    data = read_data(path, skip_invalid=True)
    assert [example.utt for example in data.examples] == good
    assert len(data.skipped) == 1 and re.search(message, str(data.skipped[0]))


def test_the_snips_2017_files_are_read_as_they_are() -> None:
    weather = read_data(DATA / "snips-2017" / "validate_GetWeather.json")
    glued = weather.examples[4]  # 'one pm' and 'near' written without a space
    assert glued.utt == "What kind of weather is forecast around one pmnear Vatican?"
    assert [(s.label, glued.utt[s.start : s.end]) for s in glued.slots] == [
        ("timeRange", "one pm"), ("spatial_relation", "near"), ("country", "Vatican"),
    ]  # fmt: skip
    music = read_data(DATA / "snips-2017" / "train_PlayMusic_cesu8.json")
    assert "🍕" in music.examples[0].utt  # two encoded surrogates, joined back


def test_the_registry_lists_the_formats() -> None:
    assert DATA_FORMATS.names() == ["massive", "polynlu", "rasa", "snips", "conll", "sib"]


def test_own_data_is_scored_on_its_own_labels() -> None:
    """MASSIVE's reading of annot_utt is for MASSIVE's words: perfect predictions on data read
    with punctuation split off score 1.0 (they scored 0.65 when dev selection used it)."""
    from polynlu.evaluation.chunking import chunking_for
    from polynlu.evaluation.evaluate import Prediction, score_predictions
    from polynlu.types import Interpretation, Slot

    data = read_data(DATA / "snips-2017" / "validate_GetWeather.json")
    perfect = [
        Prediction(
            e,
            Interpretation(
                e.utt,
                e.intent,
                1.0,
                tuple(Slot(s.label, e.utt[s.start : s.end], s.start, s.end) for s in e.slots),
                e.locale,
            ),
        )
        for e in data.examples
    ]
    assert score_predictions(perfect, chunking_for(data.segmentation))["en-US"].slot_f1 == 1.0
