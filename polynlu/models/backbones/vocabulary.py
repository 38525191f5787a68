"""New sub-word pieces, from bilingual lexicons, for scripts the tokenizer lacks.

XLM-R's 250,000 pieces (e5-small's vocabulary) have almost nothing for Tibetan, Ol Chiki,
N'Ko, Tifinagh or Thaana: about half the pieces of such text are ``<unk>`` (a run of unknown
letters fuses into one), so the encoder reads it as noise. A lexicon names what those words
mean, in English, which the encoder knows. So each word of a lexicon's translations becomes
a piece of its own, whose input embedding starts as the mean of the sub-word embeddings of
its English (FOCUS and WECHSEL initialise new pieces from similar known ones the same way,
but find the similar ones with aligned embeddings; here the lexicon names them). A model
reads Tibetan ``ལོ་རྒྱུས`` as roughly ``history`` without any training.

Only words that the tokenizer can only spell with ``<unk>`` become pieces, and only for a
lexicon most of whose words are such. A new piece thus holds a letter the old pieces could
not read, and text in the scripts the tokenizer has reads as before: on SIB-200, every
variety outside the four missing scripts scored exactly the same.

The pieces are SentencePiece pieces appended to the Unigram model, not ``added_tokens``:
Unigram's Viterbi search then covers a word with the fewest pieces, which is what a
language written without spaces between words (Tibetan) needs, and the extended tokenizer
is an ordinary ``tokenizer.json`` that anything reading the saved model (ONNX export
included) understands.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import regex
import torch

from polynlu.data.lexicons import Lexicon
from polynlu.data.locales import find_language
from polynlu.errors import PolynluError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from polynlu.models.backbones.registry import Backbone

MIN_UNKNOWN_SHARE = 0.5
"""A lexicon is used when at least this share of its translation words have an ``<unk>``
piece: a script the tokenizer lacks. Of GATITOS' 173 lexicons, eight are at 98% or more
(Tibetan ×2, N'Ko, Tifinagh, Meitei Mayek, Thaana, Inuktitut syllabics, Syriac); the next is
Abkhaz at 41% (Cyrillic but for its palochka, ``Ӏ``), and 152 are under 5%."""
SAMPLE_WORDS = 500
"""Words of a lexicon tokenized to tell whether its script is missing."""
NEW_PIECE_SCORE = -12.0
"""The log-probability every new piece gets, near the vocabulary's median (−13.6). Equal
scores make Unigram cover a word with the fewest new pieces; any piece beats ``<unk>``,
whose score is the lowest piece's minus 10 (about −30 a letter)."""
UNSPACED_SCRIPTS = frozenset({"Tibt", "Thai", "Laoo", "Khmr", "Mymr", "Hans", "Hant", "Jpan"})
"""Scripts that write a sentence's words without spaces between them: their pieces may also
start inside a space-separated run. In other scripts a new piece only starts a word, so a
short word (Tifinagh ``ⴰ``, *a*) is not found inside every longer one."""
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")
"""Tibetan ends each syllable with a tsheg (``་``), and a lexicon writes some words with it
and some without: both forms are added."""
_METASPACE = "▁"


@dataclass(frozen=True)
class ExtendedLanguage:
    """What one lexicon gave the vocabulary."""

    code: str
    """The lexicon's language: as its file names it (GATITOS' ``bo``), or as the training
    data does (``bod_Tibt``) when ``polynlu train --lexicon`` extends."""
    source: str
    """The lexicon's file."""
    unknown_share: float
    """The share of its translation words the tokenizer could only spell with ``<unk>``: of
    all of them for a lexicon that was used, of ``SAMPLE_WORDS`` of them otherwise."""
    pieces: int
    """Pieces added for it (0 when its script was already known)."""

    def as_dict(self) -> dict[str, str | float | int]:
        return {
            "lexicon": self.source,
            "unknown_share": round(self.unknown_share, 4),
            "pieces": self.pieces,
        }


@dataclass(frozen=True)
class VocabularyExtension:
    languages: list[ExtendedLanguage]
    vocabulary_size: int
    """Pieces in the tokenizer afterwards."""

    @property
    def added(self) -> int:
        return sum(language.pieces for language in self.languages)

    def as_dict(self) -> dict[str, object]:
        """For the model's provenance (``config.json``)."""
        return {
            "added": self.added,
            "vocabulary_size": self.vocabulary_size,
            "languages": {
                language.code: language.as_dict() for language in self.languages if language.pieces
            },
        }


def extend_vocabulary(
    backbone: Backbone,
    lexicons: Mapping[str, Lexicon],
    *,
    min_unknown_share: float = MIN_UNKNOWN_SHARE,
) -> VocabularyExtension:
    """Add pieces for the words of ``lexicons`` whose script ``backbone``'s tokenizer lacks,
    each embedded as the mean of its English's sub-word embeddings. ``backbone`` gets a new
    tokenizer and a larger input embedding table, in place."""
    tokenizer = backbone.tokenizer
    spec = json.loads(tokenizer.to_str())
    model = spec["model"]
    if model.get("type") != "Unigram":
        raise PolynluError(
            f"backbone '{backbone.name}' has a {model.get('type')} tokenizer: vocabulary "
            "extension adds SentencePiece (Unigram) pieces"
        )
    vocab: list[list[object]] = model["vocab"]
    first_new = len(vocab)
    if any(token["id"] >= first_new for token in spec.get("added_tokens", [])):
        raise PolynluError(
            f"backbone '{backbone.name}' numbers tokens after its vocabulary: new pieces would "
            "take their ids"
        )
    unknown_id = model["unk_id"]
    embeddings = _input_embeddings(backbone).weight.detach()
    known = {str(piece) for piece, _ in vocab}

    def with_unknown(texts: list[str]) -> list[str]:
        """Those of ``texts`` the tokenizer spells with ``<unk>``, in order."""
        encodings = tokenizer.encode_batch(texts, add_special_tokens=False)
        return [text for text, e in zip(texts, encodings, strict=True) if unknown_id in e.ids]

    @functools.cache  # an English phrase comes back for each word of each of its translations
    def english_embedding(english: str) -> torch.Tensor | None:
        encoding = tokenizer.encode(english, add_special_tokens=False)
        ids = [i for i in encoding.ids if i != unknown_id]
        words = [i for i in ids if vocab[i][0] != _METASPACE] or ids
        return _mean_of(embeddings[words]) if words else None

    normalize: Callable[[str], str] = (
        tokenizer.normalizer.normalize_str if tokenizer.normalizer is not None else str
    )
    meanings: dict[str, list[torch.Tensor]] = {}
    languages: list[ExtendedLanguage] = []
    for code, lexicon in lexicons.items():
        # A script is missing or not: a sample of the words tells, and the whole lexicon is
        # only read for the few that are (tokenizing all of GATITOS took most of 20 s).
        sample = _sample_words(lexicon, normalize)
        share = len(with_unknown(sample)) / len(sample) if sample else 0.0
        added = 0
        if share >= min_unknown_share:
            words = _translation_words(lexicon, normalize)
            unknown = set(with_unknown(list(words)))
            share = len(unknown) / len(words)
            unspaced = _is_unspaced(code)
            forms = {word: _forms(word, unspaced) for word in words if word in unknown}
            spelled_with_unknown = set(with_unknown([f for fs in forms.values() for f in fs]))
            for word, word_forms in forms.items():
                vectors = [v for v in map(english_embedding, words[word]) if v is not None]
                if not vectors:
                    continue
                for form in word_forms:
                    if form in spelled_with_unknown and form not in known:
                        known.add(form)
                        vocab.append([form, NEW_PIECE_SCORE])
                        added += 1
                    meanings.setdefault(form, []).extend(vectors)
        languages.append(ExtendedLanguage(code, lexicon.source, share, added))
    new_pieces = [str(piece) for piece, _ in vocab[first_new:]]
    if new_pieces:
        from tokenizers import Tokenizer

        extended = Tokenizer.from_str(json.dumps(spec))
        encoder = backbone.encoder
        rows = max(_input_embeddings(backbone).num_embeddings, len(vocab))
        encoder.resize_token_embeddings(rows, mean_resizing=False)
        table = _input_embeddings(backbone).weight
        with torch.no_grad():
            for offset, piece in enumerate(new_pieces):
                table[first_new + offset] = _mean_of(torch.stack(meanings[piece]))
        _keep_truncation(tokenizer, extended)
        backbone.tokenizer = extended
    return VocabularyExtension(languages, len(vocab))


def _input_embeddings(backbone: Backbone) -> torch.nn.Embedding:
    table = backbone.encoder.get_input_embeddings()
    if not isinstance(table, torch.nn.Embedding):
        raise PolynluError(f"backbone '{backbone.name}' has no input embedding table to extend")
    return table


def _mean_of(vectors: torch.Tensor) -> torch.Tensor:
    """The mean of ``vectors``' directions, as long as they are on average. A plain mean of
    several vectors is shorter than each, and reads as a blur rather than a word (given back
    its length: +1.6 points on SIB-200's Tibetan, N'Ko and Tifinagh varieties)."""
    mean = vectors.mean(0)
    scaled: torch.Tensor = mean * (vectors.norm(dim=1).mean() / mean.norm().clamp_min(1e-12))
    return scaled


def _translation_words(lexicon: Lexicon, normalize: Callable[[str], str]) -> dict[str, list[str]]:
    """Each word of the lexicon's translations (normalized as the tokenizer normalizes) →
    the English it translates. A word of a one-word translation takes that entry's English;
    a word seen only inside longer translations takes the whole phrase's English."""
    single: dict[str, list[str]] = {}
    within: dict[str, list[str]] = {}
    for word, english, alone in _words_of(lexicon, normalize):
        (single if alone else within).setdefault(word, []).append(english)
    return {**{w: e for w, e in within.items() if w not in single}, **single}


def _sample_words(lexicon: Lexicon, normalize: Callable[[str], str]) -> list[str]:
    """Up to ``SAMPLE_WORDS`` distinct translation words, in the lexicon's order."""
    words: dict[str, None] = {}
    for word, _, _ in _words_of(lexicon, normalize):
        words.setdefault(word, None)
        if len(words) == SAMPLE_WORDS:
            break
    return list(words)


def _words_of(lexicon: Lexicon, normalize: Callable[[str], str]) -> Iterator[tuple[str, str, bool]]:
    """Each word of each translation, the English it translates, and whether it is the
    whole translation."""
    for english_words, translations in lexicon.entries.items():
        english = " ".join(english_words)
        for translation in translations:
            words = normalize(translation).split()
            for word in words:
                yield word, english, len(words) == 1


def _forms(word: str, unspaced: bool) -> list[str]:
    bare = _TRAILING_PUNCTUATION.sub("", word)
    stems = [word] + ([bare] if bare and bare != word else [])
    forms = [_METASPACE + stem for stem in stems]
    return forms + stems if unspaced else forms


def _is_unspaced(code: str) -> bool:
    language = find_language(code)
    return language is not None and language.info.script in UNSPACED_SCRIPTS


def _keep_truncation(old: Tokenizer, new: Tokenizer) -> None:
    if old.truncation is not None:
        new.enable_truncation(old.truncation["max_length"])
