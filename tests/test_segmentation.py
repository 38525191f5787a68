from polynlu.text import Word, labels_from_spans, segment, spans_from_labels
from polynlu.text.spans import Span


def texts(words: list[Word]) -> list[str]:
    return [w.text for w in words]


def test_whitespace_words_with_offsets() -> None:
    words = segment("wake me  up at five", "en-US")
    assert texts(words) == ["wake", "me", "up", "at", "five"]
    assert all("wake me  up at five"[w.start : w.end] == w.text for w in words)
    assert words[2] == Word("up", 9, 11)


def test_japanese_is_split_into_characters() -> None:
    assert texts(segment("金曜日の午前九時", "ja-JP")) == list("金曜日の午前九時")


def test_ascii_runs_stay_whole_in_chinese_and_japanese() -> None:
    assert texts(segment("播放taylor swift的歌", "zh-CN")) == [
        "播", "放", "taylor", "swift", "的", "歌",
    ]  # fmt: skip
    assert texts(segment("5時にiphoneで", "ja-JP")) == ["5", "時", "に", "iphone", "で"]


def test_other_locales_keep_non_ascii_words_whole() -> None:
    assert texts(segment("weck mich um fünf", "de-DE")) == ["weck", "mich", "um", "fünf"]
    assert texts(segment("金曜日 です", None)) == ["金曜日", "です"]


def test_empty_and_blank_text_have_no_words() -> None:
    assert segment("", "en-US") == []
    assert segment("   ", "ja-JP") == []


def test_runs_of_equal_labels_become_one_span_and_back() -> None:
    text = "wake me up at five am on friday"
    words = segment(text, "en-US")
    labels = ["Other"] * 4 + ["time", "time", "Other", "date"]
    spans = spans_from_labels(words, labels)
    assert spans == [Span("time", 14, 21), Span("date", 25, 31)]
    assert text[14:21] == "five am"
    assert labels_from_spans(words, spans) == labels


def test_labels_from_spans_uses_the_first_character_of_each_word() -> None:
    words = segment("abc def", "en-US")
    assert labels_from_spans(words, [Span("x", 1, 6)]) == ["Other", "x"]


def test_combining_marks_stay_inside_their_words_when_punctuation_is_split() -> None:
    # Vowel signs and viramas are marks: Python's \w leaves them out, and हिन्दी fell apart
    # into six one-character "words" that no lexicon entry or slot edge could match.
    assert texts(segment("हिन्दी में, गति.", "hi-IN", "punctuation")) == [
        "हिन्दी", "में", ",", "गति", ".",
    ]  # fmt: skip
    assert texts(segment("ปิดไฟ!", "th-TH", "punctuation")) == ["ปิดไฟ", "!"]
    assert texts(segment("on [Youtube](service).", "en-US", "punctuation")) == [
        "on", "[", "Youtube", "]", "(", "service", ")", ".",
    ]  # fmt: skip
