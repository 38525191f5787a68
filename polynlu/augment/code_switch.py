"""Code-switched copies of English training data, with word translations the encoder knows.

CoSDA-ML (Qin et al., IJCAI 2020) trains on English utterances some of whose words are
swapped for their translations into other languages, labels kept: the model learns that
``réveil`` and ``wake`` do the same work in ``wake me up at five``, which is what carries an
English-trained model to other languages. CoSDA-ML takes its translations from bilingual
dictionaries (MUSE); here they are induced from the multilingual encoder itself, so zero-shot
training needs nothing outside the model:

- the candidates are the tokenizer's whole-word pieces (SentencePiece's ``▁word``: some
  150,000 for multilingual-e5-small, in about 100 languages);
- each candidate and each English word of the training data is embedded alone (the mean of
  its pieces' last-layer states), and an English word's translations are its nearest
  candidates that are not English: not a word of the English data, and not the word itself
  with an ending (``playing``, ``Alarm``).

For ``alarm`` this gives ``alerta``, ``எச்சரிக்கை``, ``هشدار``…; for ``weather``
``vädret``, ``मौसम``, ``날씨``. Words are swapped one at a time (slots keep their words, as
in ``polynlu.augment.lexicons``), each with probability ``rate``, for a translation drawn at
random, so one utterance mixes several languages, as CoSDA-ML's do.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from polynlu.augment.lexicons import code_switched_copies
from polynlu.augment.projection import padded
from polynlu.data.example import Example
from polynlu.data.lexicons import ENGLISH, Lexicon
from polynlu.errors import PolynluError
from polynlu.text.segmentation import segment

if TYPE_CHECKING:
    from polynlu.models.backbones.registry import Backbone

Advance = Callable[[int, int], None]
"""Progress: (words embedded, of how many)."""
WORD_START = "▁"
"""SentencePiece's mark of a piece that starts a word."""


@dataclass(frozen=True)
class CodeSwitchSettings:
    rate: float = 0.5
    """The share of an utterance's words swapped (each word independently)."""
    neighbours: int = 5
    """Translations kept for each English word: its nearest non-English candidates."""
    copies: int = 1
    """Code-switched copies of each English example, each drawn afresh."""
    seed: int = 0
    batch_size: int = 1024

    def __post_init__(self) -> None:
        if not 0 < self.rate <= 1:
            raise PolynluError(f"code-switching rate {self.rate}: give a share in (0, 1]")
        if self.neighbours < 1 or self.copies < 1:
            raise PolynluError("code-switching needs at least 1 neighbour and 1 copy")


@dataclass
class CodeSwitch:
    """What ``code_switch`` made: the copies and the induced word translations."""

    examples: list[Example]
    lexicon: Lexicon
    swapped: float
    """The share of the copies' words that were swapped."""

    def in_place_of(self, english: Sequence[Example], share: float, seed: int = 0) -> list[Example]:
        """``english`` (the examples the copies were made from, in order) with ``share`` of
        them, drawn at random, replaced by their code-switched copy: as many examples as
        before, so training costs the same (how benchmarks/supervision.py measured it)."""
        if len(english) != len(self.examples):
            raise ValueError(f"{len(self.examples)} copies for {len(english)} examples")
        draw = random.Random(seed).random
        return [
            copy if draw() < share else original
            for original, copy in zip(english, self.examples, strict=True)
        ]


def english_words(examples: Iterable[Example]) -> list[str]:
    """The distinct case-folded words (with a letter) of the English examples, in order."""
    words: dict[str, None] = {}
    for example in examples:
        for word in segment(example.utt, example.locale, "punctuation"):
            if any(character.isalpha() for character in word.text):
                words.setdefault(word.text.casefold(), None)
    return list(words)


def candidate_words(backbone: Backbone) -> list[str]:
    """The tokenizer's whole-word pieces of two characters or more with a letter: the
    words a translation is looked for among."""
    return sorted(
        piece[len(WORD_START) :]
        for piece in backbone.tokenizer.get_vocab()
        if piece.startswith(WORD_START)
        and len(piece) > len(WORD_START) + 1
        and any(character.isalpha() for character in piece)
        and not any(character in ";\t" for character in piece)  # a lexicon file's separators
    )


def embed_words(
    backbone: Backbone, words: Sequence[str], batch_size: int, advance: Advance | None = None
) -> np.ndarray:
    """One unit vector a word: the mean of its pieces' last-layer states, the word alone."""
    import torch

    tokenizer = backbone.tokenizer
    tokenizer.no_padding()
    tokenizer.enable_truncation(32)
    backbone.encoder.train(False)  # no dropout
    vectors = np.zeros((len(words), backbone.hidden_size), dtype=np.float32)
    for start in range(0, len(words), batch_size):
        if advance:
            advance(start, len(words))
        encodings = tokenizer.encode_batch(list(words[start : start + batch_size]))
        ids, mask = padded(encodings)
        special = np.ones(ids.shape, dtype=np.float32)  # <s>, </s> and padding
        for row, encoding in enumerate(encodings):
            special[row, : len(encoding.ids)] = encoding.special_tokens_mask
        pieces = torch.from_numpy(1 - special)  # the word's own
        with torch.inference_mode():
            states = backbone.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        mean = (states.float() * pieces[..., None]).sum(1) / pieces.sum(1, keepdim=True).clamp(
            min=1
        )
        vectors[start : start + len(encodings)] = torch.nn.functional.normalize(
            mean, dim=-1
        ).numpy()
    if advance:
        advance(len(words), len(words))
    return vectors


def induce_lexicon(
    backbone: Backbone,
    english: Sequence[str],
    settings: CodeSwitchSettings = CodeSwitchSettings(),
    *,
    candidates: Sequence[str] | None = None,
    advance: Advance | None = None,
) -> Lexicon:
    """English word → its ``settings.neighbours`` nearest non-English candidates (by default
    the tokenizer's whole words), by cosine similarity of the words embedded alone."""
    candidates = list(candidates) if candidates is not None else candidate_words(backbone)
    known = set(english)
    allowed = np.array([word.casefold() not in known for word in candidates])
    everything = [*english, *candidates]
    vectors = embed_words(backbone, everything, settings.batch_size, advance)
    english_vectors, candidate_vectors = vectors[: len(english)], vectors[len(english) :]
    lexicon = Lexicon("code-switch", f"induced from {backbone.name}")
    wanted = settings.neighbours
    # A word's own endings (playing, Alarm) are near it too: look past them.
    looked_at = min(len(candidates), wanted * 8)
    for start in range(0, len(english), 256):  # [256, 150,000] similarities at a time
        similarity = english_vectors[start : start + 256] @ candidate_vectors.T
        similarity[:, ~allowed] = -np.inf
        nearest = np.argpartition(-similarity, looked_at - 1, axis=1)[:, :looked_at]
        for row, word in enumerate(english[start : start + 256]):
            order = nearest[row][np.argsort(-similarity[row, nearest[row]])]
            found = [
                candidates[index]
                for index in order
                if np.isfinite(similarity[row, index])
                and not (len(word) > 2 and candidates[index].casefold().startswith(word))
            ]
            if found:
                lexicon.entries[(word,)] = found[:wanted]
    return lexicon


def code_switch(
    examples: Sequence[Example],
    lexicon: Lexicon,
    settings: CodeSwitchSettings = CodeSwitchSettings(),
) -> CodeSwitch:
    """``settings.copies`` code-switched copies of each English example (others are left
    out), each word swapped with probability ``settings.rate``; ids get ``-cs<copy>``."""
    copies, swapped = code_switched_copies(
        (
            (example, f"{example.id}-cs{copy}")
            for copy in range(settings.copies)
            for example in examples
            if example.locale in ENGLISH
        ),
        lexicon,
        random.Random(settings.seed),
        settings.rate,
    )
    return CodeSwitch(copies, lexicon, swapped)


def code_switched(
    examples: Sequence[Example],
    backbone: Backbone,
    settings: CodeSwitchSettings = CodeSwitchSettings(),
    *,
    candidates: Sequence[str] | None = None,
    show_progress: bool = True,
) -> CodeSwitch:
    """The English examples' code-switched copies, with translations induced from
    ``backbone`` for the words they have, among ``candidates`` (by default the tokenizer's
    whole words: embedding them takes a minute or two for multilingual-e5-small on 2 CPU
    cores)."""
    from polynlu.progress import LoggedProgress

    english = [example for example in examples if example.locale in ENGLISH]
    if not english:
        raise PolynluError(f"code-switching needs English examples ({', '.join(ENGLISH)})")
    with LoggedProgress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task("Embedding words to find translations among", total=None)
        lexicon = induce_lexicon(
            backbone,
            english_words(english),
            settings,
            candidates=candidates,
            advance=lambda done, total: progress.update(task, completed=done, total=total),
        )
    return code_switch(english, lexicon, settings)
