"""Texts → the arrays an encoder reads, with the sub-word that represents each benchmark word.

NumPy and ``tokenizers`` only, so that an exported model runs without PyTorch.

Each benchmark word reads the sub-word that holds its first character, found through the
tokenizer's character offsets: the encoder sees the natural text (no spaces inserted in ja/zh)
and still answers per benchmark word. The one change to the text's pieces: models trained with
``TrainConfig.japanese_particles`` (the default) give Japanese particles pieces of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from polynlu.text.segmentation import Word

TOKENIZER_FILE = "tokenizer.json"
"""Where a model folder keeps the tokenizer its featurizer reads with."""
MAX_WORD_OFFSET = 7
"""Words that share a sub-word (``日の`` holds ``日`` and ``の``) are told apart by their
character offset inside it, capped here."""
_METASPACE = "▁"
JAPANESE_PARTICLES = r"(?<=[\p{Han}\p{Katakana}ー])(?:から|まで|より|の|に|は|を|が|で|と|へ|も)"
"""A Japanese particle right after a kanji or katakana word. SentencePiece glues it to that
word (``今日は``, ``時に``, ``市の``), and 13% of ja-JP dev's slots end inside such a piece
(zh-CN 4.0%, zh-TW 3.2%, every other locale 0.1% or less): a model trained on English,
whose slots always end where a piece ends, labels the particle as the slot. With a piece of
its own, the zero-shot model of benchmarks/supervision.py scored ja-JP dev 26.0 / 73.1 /
30.0 (exact match / intent / slot F1) instead of 23.4 / 73.3 / 26.0. Only these particles:
every hiragana run split off (okurigana too: ``聞き`` → ``聞`` ``き``) gave 24.3 / 70.8 /
29.0."""


@dataclass
class Features:
    input_ids: np.ndarray  # [batch, tokens] int64
    attention_mask: np.ndarray  # [batch, tokens] int64
    word_tokens: np.ndarray  # [batch, words] int64: index of the token read for each word
    word_mask: np.ndarray  # [batch, words] bool
    word_offsets: np.ndarray  # [batch, words] int64: the word's character offset in its token


def split_japanese_particles(tokenizer: Tokenizer) -> Tokenizer:
    """A copy of ``tokenizer`` that gives each of the ``JAPANESE_PARTICLES`` a piece of its
    own. New models get it when training starts (``TrainConfig.japanese_particles``) and keep
    it in the tokenizer saved with them, so a model reads text as it was trained to."""
    return split_pieces_at(tokenizer, JAPANESE_PARTICLES)


def split_pieces_at(tokenizer: Tokenizer, pattern: str) -> Tokenizer:
    """A copy of ``tokenizer`` that gives each match of ``pattern`` (a ``tokenizers`` regex)
    a piece of its own, after the tokenizer's own pre-tokenization."""
    from tokenizers import Regex, pre_tokenizers

    copy = Tokenizer.from_str(tokenizer.to_str())
    split = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    before = copy.pre_tokenizer
    copy.pre_tokenizer = split if before is None else pre_tokenizers.Sequence([before, split])
    return copy


class Featurizer:
    """It sets the tokenizer's truncation to ``max_length`` (and no padding: batches are
    padded here), which is also how the tokenizer is saved with the model."""

    def __init__(self, tokenizer: Tokenizer, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        pad = self.tokenizer.token_to_id("<pad>")
        self.pad_id = pad if pad is not None else 0

    def batch(self, texts: Sequence[str], words: Sequence[Sequence[Word]]) -> Features:
        encodings = self.tokenizer.encode_batch(list(texts))
        rows = len(texts)
        longest = max(len(e.ids) for e in encodings)
        most_words = max(1, max(len(w) for w in words))
        input_ids = np.full((rows, longest), self.pad_id, dtype=np.int64)
        attention = np.zeros((rows, longest), dtype=np.int64)
        word_tokens = np.zeros((rows, most_words), dtype=np.int64)
        word_mask = np.zeros((rows, most_words), dtype=bool)
        word_offsets = np.zeros((rows, most_words), dtype=np.int64)
        for row, (encoding, text, sentence) in enumerate(zip(encodings, texts, words, strict=True)):
            input_ids[row, : len(encoding.ids)] = encoding.ids
            attention[row, : len(encoding.ids)] = 1
            owner = _character_owners(encoding, len(text))
            for index, word in enumerate(sentence):
                token = _token_of(owner, word, len(encoding.ids))
                word_tokens[row, index] = token
                word_mask[row, index] = True
                inside = word.start - encoding.offsets[token][0]
                word_offsets[row, index] = min(max(inside, 0), MAX_WORD_OFFSET)
        return Features(input_ids, attention, word_tokens, word_mask, word_offsets)


def _character_owners(encoding: Any, length: int) -> list[int]:
    """For each character of the text, the first token covering it (-1 if none).

    A bare metaspace token ('▁') only claims characters no other token covers: the word's
    content, not its boundary marker, should represent it.
    """
    owner = [-1] * length

    def claim(index: int) -> None:
        start, end = encoding.offsets[index]
        for char in range(start, min(end, length)):
            if owner[char] < 0:
                owner[char] = index

    bare: list[int] = []
    for index, (special, token) in enumerate(
        zip(encoding.special_tokens_mask, encoding.tokens, strict=True)
    ):
        if special:
            continue
        if token == _METASPACE:
            bare.append(index)
        else:
            claim(index)
    for index in bare:
        claim(index)
    return owner


def _token_of(owner: list[int], word: Word, n_tokens: int) -> int:
    for char in range(word.start, word.end):
        if 0 <= char < len(owner) and owner[char] >= 0:
            return owner[char]
    # Truncated away (or normalized to nothing): read the last real token.
    return max(0, n_tokens - 2)
