"""Labelled data for languages without any, from bilingual lexicons (Wang, Ruder and Neubig,
ACL 2022, "Expanding Pretrained Models to Thousands More Languages via Lexicon-based
Adaptation").

Lexicons are read by ``polynlu.data.lexicons``. Each labelled English example is translated
word for word: the longest run of words the lexicon has is replaced by one of its
translations (drawn at random, as the paper does, so that a word's senses all appear), and
words it lacks stay as they are. The intent is kept, and a slot covers the translations of
the words it covered, so slot data adapts too.

Two ways to make data of those translations (``AdaptSettings.mode``): ``code-switch``, the
default, trains some English examples as copies whose words are swapped for translations
into any of the languages, drawn anew for each word (CoSDA-ML, Qin et al., IJCAI 2020, with
the lexicons for its dictionaries), so one sentence mixes several languages and keeps some
English; ``translate``, the paper's, gives each language its own translations of the English.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from polynlu.data.example import Example, example_from_spans
from polynlu.data.lexicons import ENGLISH, Lexicon, read_lexicons
from polynlu.data.locales import find_language, locale_for
from polynlu.errors import DataError, PolynluError
from polynlu.text.segmentation import Word, segment
from polynlu.text.spans import Span


@dataclass(frozen=True)
class Translation:
    example: Example
    words: int
    translated: int
    """How many of the English words the lexicon had."""


def translate(
    example: Example,
    lexicon: Lexicon,
    locale: str,
    rng: random.Random,
    *,
    rate: float = 1.0,
    keep_unknown: bool = True,
) -> Translation:
    """``example`` word for word into ``lexicon``'s language, as an example of ``locale``.
    With ``rate`` below 1, each word or phrase the lexicon has is translated with that
    probability and otherwise kept: code-switching (``polynlu.augment.code_switch``).
    ``keep_unknown=False`` leaves out the words the lexicon lacks (not a slot's, nor
    punctuation), so that no English is left to learn from."""
    words = segment(example.utt, example.locale, "punctuation")
    edges = {offset for span in example.slots for offset in (span.start, span.end)}
    in_slots = {w.start for w in words for s in example.slots if s.start <= w.start < s.end}
    pieces: list[str] = []
    new_offsets: dict[int, tuple[int, int]] = {}  # old word start → new (start, end)
    length = 0
    cursor = 0  # in the old text
    translated = 0
    index = 0
    longest = lexicon.longest
    while index < len(words):
        run, replacement = _longest_match(words, index, lexicon, longest, edges)
        if replacement and rate < 1 and rng.random() >= rate:
            replacement = []
        first, last = words[index], words[index + run - 1]
        if not (replacement or keep_unknown or first.start in in_slots) and _is_word(first):
            cursor = last.end if pieces else _next_start(words, index + run, len(example.utt))
            index += run
            continue
        pieces.append(example.utt[cursor : first.start])
        length += first.start - cursor
        text = rng.choice(replacement) if replacement else example.utt[first.start : last.end]
        translated += run if replacement else 0
        for word in words[index : index + run]:
            new_offsets[word.start] = (length, length + len(text))
        pieces.append(text)
        length += len(text)
        cursor = last.end
        index += run
    pieces.append(example.utt[cursor:])
    utt = "".join(pieces)
    spans = [_moved(span, words, new_offsets) for span in example.slots]
    new = example_from_spans(
        id=example.id,
        locale=locale,
        intent=example.intent,
        utt=utt,
        spans=spans,
        partition=example.partition,
        scenario=example.scenario,
        segmentation="punctuation",
    )
    return Translation(new, len(words), translated)


def _is_word(word: Word) -> bool:
    return any(character.isalnum() for character in word.text)


def _next_start(words: Sequence[Word], index: int, end: int) -> int:
    """Where the next word begins (the text's end after the last): a left-out first word
    takes the space after it along."""
    return words[index].start if index < len(words) else end


def _longest_match(
    words: Sequence[Word], index: int, lexicon: Lexicon, longest: int, edges: set[int]
) -> tuple[int, list[str]]:
    """The longest run from ``index`` that the lexicon has and no slot edge cuts (a slot
    must not end up holding half a phrase): (1, []) when even the one word is unknown."""
    for run in range(min(longest, len(words) - index), 0, -1):
        first, last = words[index], words[index + run - 1]
        if any(first.start < edge < last.end for edge in edges):
            continue
        key = tuple(w.text.casefold() for w in words[index : index + run])
        if key in lexicon.entries:
            return run, lexicon.entries[key]
    return 1, []


def _moved(span: Span, words: Sequence[Word], offsets: dict[int, tuple[int, int]]) -> Span:
    covered = [offsets[w.start] for w in words if span.start <= w.start < span.end]
    return Span(span.label, covered[0][0], covered[-1][1])


AdaptMode = Literal["translate", "code-switch"]
ADAPT_MODES: tuple[AdaptMode, ...] = ("translate", "code-switch")


@dataclass(frozen=True)
class AdaptSettings:
    """How ``polynlu train --lexicon`` makes pseudo-labelled data."""

    mode: AdaptMode = "code-switch"
    """``code-switch`` (the default): a share (``code_switch_share``) of the English examples
    is trained as code-switched copies instead, every word the lexicons have swapped with
    probability ``code_switch_rate`` for a translation into any of the languages; no more
    examples, so training costs what English alone does. ``translate``: each language gets
    its own translations of the English examples (``per_locale``, ``same_sources`` and
    ``keep_unknown`` are translating's). Measured (docs/languages.md): on SIB-200's unseen
    languages with a lexicon code-switching gained 2.6 points where translating lost 3.2; on
    MASSIVE's es-ES, fr-FR and hi-IN code-switching gained 1.4 exact match at no extra cost,
    translating 3.0 for 52% more training (1.5 over English trained as many steps). Adding
    the copies beside all of the English instead of in place of half scored the same for
    twice the training."""
    code_switch_share: float = 0.5
    code_switch_rate: float = 0.5

    per_locale: int | None = None
    """Translate at most this many English examples into each language (None: all)."""
    same_sources: bool = False
    """With ``per_locale``: translate the same English examples into every language, instead
    of a sample of its own for each (which, over many languages, trains on more of the
    English and repeats each sentence less)."""
    keep_unknown: bool = True
    """Keep the English words the lexicon lacks (``translate``)."""
    seed: int = 0


@dataclass
class Adaptation:
    """What lexicon translation made: the examples, and per locale how much of the English
    the lexicon covered."""

    examples: list[Example]
    coverage: dict[str, float]
    """Per locale, the share of the English words its lexicon has: as translated (phrases
    included) when translating, as words of their own when code-switching."""
    lexicons: dict[str, Lexicon]
    """Locale → the lexicon it came from (``Lexicon.source`` names its file): those in
    scripts the tokenizer lacks give the model new pieces (``TrainingData.lexicons``)."""
    skipped: list[DataError] = field(default_factory=list)
    """The used lexicons' lines left out (``skip_invalid``)."""
    sources: dict[Example, Example] = field(default_factory=dict)
    """Each translation → the English example it translates
    (``TrainingData.anchor_sources``)."""
    swapped: float | None = None
    """Code-switching: the share of the copies' words that were swapped."""
    replaces: list[Example] = field(default_factory=list)
    """The English examples that ``examples`` stand in place of (code-switching); empty when
    they go beside the English (translating). ``with_adaptation`` applies it."""

    def with_adaptation(self, examples: Sequence[Example]) -> list[Example]:
        """The training examples: ``examples`` and this adaptation's, less those it replaces
        (each occurrence once, so that an example given twice and replaced once stays once)."""
        left = Counter(id(example) for example in self.replaces)
        kept = []
        for example in examples:
            if left[id(example)]:
                left[id(example)] -= 1
            else:
                kept.append(example)
        return kept + self.examples


def target_locale(code: str, data_locales: Iterable[str]) -> str:
    """The locale pseudo-labelled data of lexicon language ``code`` gets: the data's own code
    for the language where the data has it, else its MASSIVE locale, else FLORES-200's."""
    found = locale_for(code, data_locales)
    if found is not None:
        return found
    language = find_language(code)
    if language is None:
        return code
    return language.massive or language.flores


def adapt(
    english: Sequence[Example],
    lexicons: dict[str, Lexicon],
    settings: AdaptSettings = AdaptSettings(),
) -> Adaptation:
    """Translate ``english`` with each lexicon, keyed by the locale its examples get (as
    ``target_locale`` names it)."""
    if not english:
        raise PolynluError(f"lexicon adaptation needs English examples ({', '.join(ENGLISH)})")

    def sources(locale: str) -> list[Example]:
        if settings.per_locale is None or settings.per_locale >= len(english):
            return list(english)
        seed = settings.seed if settings.same_sources else f"{settings.seed}:{locale}:sources"
        return random.Random(seed).sample(list(english), settings.per_locale)

    if settings.mode == "code-switch":
        return _code_switched(english, lexicons, settings)
    result = Adaptation([], {}, {})
    for locale, lexicon in lexicons.items():
        rng = random.Random(f"{settings.seed}:{locale}")
        words = translated = 0
        for example in sources(locale):
            translation = translate(
                example, lexicon, locale, rng, keep_unknown=settings.keep_unknown
            )
            if translation.example.utt.strip():  # not every word left out
                result.examples.append(translation.example)
                result.sources[translation.example] = example
            words += translation.words
            translated += translation.translated
        result.coverage[locale] = translated / max(words, 1)
        result.lexicons[locale] = lexicon
        result.skipped += lexicon.skipped
    return result


def merged(lexicons: Iterable[Lexicon]) -> Lexicon:
    """One lexicon holding every language's translations of each English entry: drawing a
    translation from it draws the language too, in proportion to its senses."""
    lexicons = list(lexicons)
    result = Lexicon("+".join(lexicon.code for lexicon in lexicons), "merged")
    for lexicon in lexicons:
        for english, translations in lexicon.entries.items():
            result.entries.setdefault(english, []).extend(translations)
    return result


def code_switched_copies(
    sources: Iterable[tuple[Example, str]], lexicon: Lexicon, rng: random.Random, rate: float
) -> tuple[list[Example], float]:
    """A code-switched copy of each example, named by the id paired with it: each word or
    phrase ``lexicon`` has swapped with probability ``rate`` for one of its translations,
    labels kept (CoSDA-ML); and the share of the copies' words that were swapped. Lexicon
    adaptation and ``polynlu.augment.code_switch`` (translations induced from the encoder)
    both make their copies here."""
    copies = []
    words = swapped = 0
    for example, copy_id in sources:
        translation = translate(example, lexicon, example.locale, rng, rate=rate)
        copies.append(replace(translation.example, id=copy_id))
        words += translation.words
        swapped += translation.translated
    return copies, swapped / max(words, 1)


def _code_switched(
    english: Sequence[Example], lexicons: Mapping[str, Lexicon], settings: AdaptSettings
) -> Adaptation:
    """Code-switched copies (ids ``<id>-cs``) of ``settings.code_switch_share`` of the
    English examples, drawn at random, their words swapped for translations into the
    languages of ``lexicons``, drawn for each word anew; to train in place of their sources."""
    rng = random.Random(f"{settings.seed}:code-switch")
    result = Adaptation([], {}, dict(lexicons))
    result.replaces = [e for e in english if rng.random() < settings.code_switch_share]
    result.examples, result.swapped = code_switched_copies(
        ((example, f"{example.id}-cs") for example in result.replaces),
        merged(lexicons.values()),
        rng,
        settings.code_switch_rate,
    )
    result.sources = dict(zip(result.examples, result.replaces, strict=True))
    # Coverage per language, of the words as they are: translate() matched merged phrases.
    counts = Counter(
        word.text.casefold()
        for example in english
        for word in segment(example.utt, example.locale, "punctuation")
        if _is_word(word)
    )
    total = max(sum(counts.values()), 1)
    for locale, lexicon in lexicons.items():
        had = sum(count for word, count in counts.items() if (word,) in lexicon.entries)
        result.coverage[locale] = had / total
        result.skipped += lexicon.skipped
    return result


def adapt_with_lexicons(
    examples: Sequence[Example],
    path: str | Path,
    data_locales: Iterable[str],
    targets: str | None = None,
    settings: AdaptSettings = AdaptSettings(),
    *,
    skip_invalid: bool = False,
) -> Adaptation:
    """``polynlu train --lexicon PATH [--adapt-locales …]``: the English ``examples``
    translated with every lexicon at ``path``, or with those of ``targets`` (codes in any
    system: ``qu``, ``quy_Latn``). ``data_locales`` are all the data's locales, so that
    pseudo-labelled data is named as the data names the language."""
    data_locales = sorted(set(data_locales))
    lexicons = read_lexicons(path, skip_invalid=skip_invalid)
    by_locale = {target_locale(code, data_locales): code for code in lexicons}
    if targets is None or targets.strip() == "all":
        chosen = sorted(by_locale)
    else:
        chosen = []
        for code in (part.strip() for part in targets.split(",") if part.strip()):
            locale = target_locale(code, data_locales)
            if locale not in by_locale:
                raise PolynluError(
                    f"no lexicon at {path} for '{code}' (the lexicons cover "
                    f"{len(by_locale)} languages: {', '.join(sorted(by_locale))})"
                )
            chosen.append(locale)
    english = [example for example in examples if example.locale in ENGLISH]
    return adapt(english, {locale: lexicons[by_locale[locale]] for locale in chosen}, settings)
