"""Word segmentation: the units slots are labelled and scored on.

Slot F1 and exact match are computed over *words*, so every model, whatever its tokenizer,
must be scored on the same word units. Two styles:

- ``benchmark``, MASSIVE's convention (``scripts/create_hf_dataset.py`` in the official
  repository): whitespace-separated words, except in Japanese and Chinese, where each character
  is a word and runs of ASCII characters (code-switched Latin words, numbers) are kept whole;
- ``punctuation``, for a user's own data: the same, with punctuation split off as words of its
  own, since other formats mark slots by characters (``on [Youtube](service).``) and a slot may
  end where a whitespace word does not.

A data set says which style its labels need; a model records the style it was trained with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import regex

Segmentation = Literal["benchmark", "punctuation"]
SEGMENTATIONS: tuple[Segmentation, ...] = ("benchmark", "punctuation")
_PIECES = regex.compile(r"[\w\p{M}]+|[^\w\p{M}\s]")
"""A word is a run of letters, digits and combining marks: the vowel signs and viramas of
Devanagari, Bengali, Thai, Myanmar or Tibetan are marks, not punctuation, yet ``re``'s word
class leaves them out and split हिन्दी into six pieces (the ``regex`` module knows Unicode's
categories)."""

CHARACTER_SEGMENTED_LOCALES = frozenset(
    {"ja-JP", "zh-CN", "zh-TW", "jpn_Jpan", "zho_Hans", "zho_Hant", "yue_Hant"}
)
"""MASSIVE's locales, and the FLORES-200 varieties of the same languages (and Cantonese)."""


@dataclass(frozen=True)
class Word:
    """A word of an utterance, with its character offsets: ``text[start:end] == word.text``."""

    text: str
    start: int
    end: int


def is_character_segmented(locale: str | None) -> bool:
    return locale in CHARACTER_SEGMENTED_LOCALES


def segment(text: str, locale: str | None = None, style: Segmentation = "benchmark") -> list[Word]:
    """Split ``text`` into words with their character offsets."""
    words = _benchmark_words(text, locale)
    if style == "benchmark":
        return words
    return [
        Word(piece.group(), word.start + piece.start(), word.start + piece.end())
        for word in words
        for piece in _PIECES.finditer(word.text)
    ]


def _benchmark_words(text: str, locale: str | None) -> list[Word]:
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
