"""Word segmentation as the MASSIVE benchmark defines it.

Slot F1 and exact match are computed over *words*, so every model, whatever its tokenizer,
must be scored on the same word units. MASSIVE's convention (``scripts/create_hf_dataset.py``
in the official repository): whitespace-separated words, except in Japanese and Chinese, where
each character is a word and runs of ASCII characters (code-switched Latin words, numbers) are
kept whole.
"""

from __future__ import annotations

from dataclasses import dataclass

CHARACTER_SEGMENTED_LOCALES = frozenset({"ja-JP", "zh-CN", "zh-TW"})


@dataclass(frozen=True)
class Word:
    """A word of an utterance, with its character offsets: ``text[start:end] == word.text``."""

    text: str
    start: int
    end: int


def is_character_segmented(locale: str | None) -> bool:
    return locale in CHARACTER_SEGMENTED_LOCALES


def segment(text: str, locale: str | None = None) -> list[Word]:
    """Split ``text`` into benchmark words with their character offsets."""
    character_mode = is_character_segmented(locale)
    words: list[Word] = []
    start: int | None = None  # start of the current multi-character word
    for index, char in enumerate(text):
        if char.isspace():
            if start is not None:
                words.append(Word(text[start:index], start, index))
                start = None
        elif character_mode and not char.isascii():
            if start is not None:
                words.append(Word(text[start:index], start, index))
                start = None
            words.append(Word(char, index, index + 1))
        elif start is None:
            start = index
    if start is not None:
        words.append(Word(text[start:], start, len(text)))
    return words
