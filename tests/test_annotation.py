import pytest

from polynlu.data.annotation import format_annotation, parse_annotation
from polynlu.errors import DataError
from polynlu.text.spans import Span

SLOTS = {"date", "time", "place_name"}


def test_english_annotation_gives_words_labels_and_offsets() -> None:
    utt = "wake me up at five am this week"
    parsed = parse_annotation(
        utt, "wake me up at [time : five am] [date : this week]", "en-US", SLOTS
    )
    assert [w.text for w in parsed.words] == utt.split()
    assert parsed.labels == ("Other",) * 4 + ("time", "time", "date", "date")
    assert parsed.spans == (Span("time", 14, 21), Span("date", 22, 31))
    assert utt[22:31] == "this week"


def test_japanese_offsets_point_into_utt_despite_spaces_around_brackets() -> None:
    utt = "金曜日の午前九時に起こしてください"
    parsed = parse_annotation(
        utt, "[date : 金曜日] の [time : 午前九時] に起こしてください", "ja-JP"
    )
    assert parsed.spans == (Span("date", 0, 3), Span("time", 4, 8))
    assert utt[4:8] == "午前九時"
    assert len(parsed.words) == len(utt)
    assert parsed.labels[:5] == ("date", "date", "date", "Other", "time")


def test_two_adjacent_slots_of_one_type_keep_their_spans() -> None:
    parsed = parse_annotation("monday tuesday", "[date : monday] [date : tuesday]", "en-US")
    assert parsed.spans == (Span("date", 0, 6), Span("date", 7, 14))
    assert parsed.labels == ("date", "date")


def test_value_may_contain_a_colon() -> None:
    parsed = parse_annotation("at 5:30 pm", "at [time : 5:30 pm]", "en-US")
    assert parsed.spans == (Span("time", 3, 10),)


@pytest.mark.parametrize(
    ("annot", "message"),
    [
        ("wake me at [time : five", "never closed"),
        ("wake me at time : five]", "closes no slot"),
        ("wake me at [time : [time : five]]", "inside"),
        ("wake me at [time five]", "no ' : '"),
        ("wake me at [ : five]", "invalid label"),
        ("wake me at [time : ] five", "empty value"),
        ("wake me at [hour : five]", "'hour' is not in the label set"),
        ("wake me at [time : six]", "does not match 'utt'"),
    ],
)
def test_malformed_annotations_say_what_is_wrong(annot: str, message: str) -> None:
    with pytest.raises(DataError, match=message) as caught:
        parse_annotation("wake me at five", annot, "en-US", SLOTS)
    assert caught.value.field == "annot_utt"


def test_slot_boundary_inside_a_word_is_rejected() -> None:
    with pytest.raises(DataError, match="inside the word 'fiveish'"):
        parse_annotation("at fiveish", "at [time : five]ish", "en-US")


def test_format_annotation_round_trips_in_massive_style() -> None:
    utt = "金曜日の午前九時に起こしてください"
    spans = [Span("date", 0, 3), Span("time", 4, 8)]
    text = format_annotation(utt, spans)
    assert text == "[date : 金曜日] の [time : 午前九時] に起こしてください"
    assert parse_annotation(utt, text, "ja-JP").spans == tuple(spans)
    assert format_annotation("wake me at five", [Span("time", 11, 15)]) == (
        "wake me at [time : five]"
    )
