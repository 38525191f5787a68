import json
from pathlib import Path

import pytest

from polynlu.data import MassiveData, parse_locale_list
from polynlu.data.massive import cap_per_locale
from polynlu.errors import DataError, MissingPartitionError, PolynluError

GOOD = {
    "id": "7",
    "locale": "en-US",
    "partition": "train",
    "scenario": "alarm",
    "intent": "alarm_set",
    "utt": "wake me at five",
    "annot_utt": "wake me at [time : five]",
}


def write_rows(folder: Path, rows: list[dict[str, object] | str], locale: str = "en-US") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    (folder / f"{locale}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    return folder


def test_reads_the_tiny_sample(tiny_data: Path) -> None:
    data = MassiveData(tiny_data)
    assert data.locales == ["de-DE", "en-US", "ja-JP", "zh-CN"]
    dev = data.read(["ja-JP"], "dev", show_progress=False).examples
    assert len(dev) == 18 and {e.partition for e in dev} == {"dev"}
    example = next(e for e in dev if e.slots)
    for span in example.slots:
        assert example.utt[span.start : span.end].strip() == example.utt[span.start : span.end]
    assert len(example.words) == len(example.labels)


def test_every_partition_when_none_is_asked_for(tiny_data: Path) -> None:
    examples = MassiveData(tiny_data).read(["en-US"], None, show_progress=False).examples
    assert len(examples) == 66


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("{not json", None, "invalid JSON"),
        ("[1, 2]", None, "expected a JSON object"),
        ({**GOOD, "utt": None}, "utt", "expected a string"),
        ({k: v for k, v in GOOD.items() if k != "intent"}, "intent", "missing field"),
        ({**GOOD, "intent": "alarm_snooze"}, "intent", "not in the MASSIVE 1.1 label set"),
        ({**GOOD, "locale": "de-DE"}, "locale", "differs from the file's locale"),
        ({**GOOD, "annot_utt": "wake me at [time : five"}, "annot_utt", "unbalanced"),
        ({**GOOD, "annot_utt": "wake me at [tiem : five]"}, "annot_utt", "'tiem'"),
        ({**GOOD, "annot_utt": "wake me at [time : six]"}, "annot_utt", "does not match"),
        ({**GOOD, "utt": "  "}, "utt", "empty utterance"),
    ],
)
def test_bad_rows_name_file_line_id_and_field(
    tmp_path: Path, row: dict[str, object] | str, field: str | None, message: str
) -> None:
    folder = write_rows(tmp_path / "d", [GOOD, row])
    with pytest.raises(DataError, match=message) as caught:
        MassiveData(folder).read(["en-US"], "train", show_progress=False)
    error = caught.value
    assert error.file == str(folder / "en-US.jsonl")
    assert error.line == 2
    assert error.field == field
    assert "en-US.jsonl:2" in str(error)
    if isinstance(row, dict) and "id" in row:
        assert error.row_id == "7" and "id=7" in str(error)


def test_skip_invalid_reports_every_bad_row_and_keeps_the_rest(tmp_path: Path) -> None:
    bad = {**GOOD, "id": "8", "annot_utt": "wake me at [time : five"}
    folder = write_rows(tmp_path / "d", [GOOD, "{oops", bad, {**GOOD, "id": "9"}])
    result = MassiveData(folder).read(["en-US"], "train", skip_invalid=True, show_progress=False)
    assert [e.id for e in result.examples] == ["7", "9"]
    assert [(e.line, e.row_id) for e in result.invalid] == [(2, None), (3, "8")]


def test_bad_rows_of_other_partitions_do_not_stop_reading(tmp_path: Path) -> None:
    bad_train = {**GOOD, "id": "8", "intent": "nope"}
    folder = write_rows(tmp_path / "d", [{**GOOD, "partition": "dev"}, bad_train])
    assert len(MassiveData(folder).read(["en-US"], "dev", show_progress=False).examples) == 1


def test_an_absent_partition_is_named_with_what_there_is(tiny_data: Path) -> None:
    with pytest.raises(MissingPartitionError) as caught:
        MassiveData(tiny_data).read(["en-US"], "test", show_progress=False)
    message = str(caught.value)
    assert "'test' is absent for en-US" in message
    assert "dev (18), train (48)" in message
    assert "withheld" in message


def test_locale_lists() -> None:
    available = ["de-DE", "en-US", "ja-JP"]
    assert parse_locale_list("all", available) == available
    assert parse_locale_list("en-US, ja-JP,en-US", available) == ["en-US", "ja-JP"]
    assert parse_locale_list(["de-DE", "en-US"], available) == ["de-DE", "en-US"]
    with pytest.raises(PolynluError, match="not a locale code"):
        parse_locale_list("english", available)
    with pytest.raises(PolynluError, match="'fr-FR' is not in the data"):
        parse_locale_list("fr-FR", available)
    with pytest.raises(PolynluError, match="no locale"):
        parse_locale_list(" , ", available)


def test_cap_per_locale_is_reproducible(tiny_data: Path) -> None:
    examples = MassiveData(tiny_data).read(["de-DE", "en-US"], "train", show_progress=False)
    capped = cap_per_locale(examples.examples, 5, seed=1)
    assert len(capped) == 10
    assert capped == cap_per_locale(examples.examples, 5, seed=1)
    assert capped != cap_per_locale(examples.examples, 5, seed=2)
    assert cap_per_locale(examples.examples, None) == examples.examples


def write_bytes(folder: Path, content: bytes, locale: str = "en-US") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{locale}.jsonl").write_bytes(content)
    return folder


def row(**changes: object) -> bytes:
    return json.dumps({**GOOD, **changes}).encode() + b"\n"


def test_undecodable_rows_are_data_errors_with_their_line(tmp_path: Path) -> None:
    content = row(id="1") + b'{"id": "2", "utt": "play \xff jazz"}\n' + row(id="3")
    data = MassiveData(write_bytes(tmp_path / "d", content))
    with pytest.raises(DataError, match=r"en-US\.jsonl:2: the row is not valid UTF-8 .*0xff"):
        data.read(["en-US"], "train", show_progress=False)
    result = data.read(["en-US"], "train", skip_invalid=True, show_progress=False)
    assert [e.id for e in result.examples] == ["1", "3"] and len(result.invalid) == 1


def test_a_lone_surrogate_is_refused_with_its_field(tmp_path: Path) -> None:
    bad = b'{"id": "2", "locale": "en-US", "partition": "train", "scenario": "alarm", '
    bad += b'"intent": "alarm_set", "utt": "wake \\ud800 me", "annot_utt": "wake \\ud800 me"}\n'
    data = MassiveData(write_bytes(tmp_path / "d", row(id="1") + bad))
    with pytest.raises(DataError, match=r":2, id=2, field 'utt': contains an unpaired surrogate"):
        data.read(["en-US"], "train", show_progress=False)


def test_rows_and_texts_over_the_limits_are_refused_in_bounded_memory(tmp_path: Path) -> None:
    huge = b'{"id": "2", "utt": "' + b"a" * 3_000_000 + b'"}\n'
    long_text = row(id="3", utt="wake " * 500, annot_utt="wake " * 500)
    data = MassiveData(write_bytes(tmp_path / "d", row(id="1") + huge + long_text + row(id="4")))
    result = data.read(["en-US"], "train", skip_invalid=True, show_progress=False)
    assert [e.id for e in result.examples] == ["1", "4"]
    assert "line 2" not in str(result.invalid[0]) and ":2: the row is 3,000," in str(
        result.invalid[0]
    )
    assert "the limit is 65,536" in str(result.invalid[0])
    assert "field 'utt': has 2,500 characters; the limit is 2,000" in str(result.invalid[1])


def test_a_bom_keeps_the_first_row_and_a_duplicate_id_is_named(tmp_path: Path) -> None:
    data = MassiveData(write_bytes(tmp_path / "d", b"\xef\xbb\xbf" + row(id="1") + row(id="1")))
    result = data.read(["en-US"], "train", skip_invalid=True, show_progress=False)
    assert [e.id for e in result.examples] == ["1"]
    assert "en-US.jsonl:2, id=1, field 'id': duplicate id: line 1 has it too" in str(
        result.invalid[0]
    )
