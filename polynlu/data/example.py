"""``Example``, the one shape every reader produces, and ``DataSet``, what a file holds.

Every format (MASSIVE, Rasa, Snips, CoNLL, polynlu's own YAML) reads into ``Example``s with
character spans, so training, evaluation and conversion never know where the data came from.
The label set is read from the data: MASSIVE's schema applies to MASSIVE only.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from polynlu.data.annotation import format_annotation
from polynlu.errors import DataError
from polynlu.text.segmentation import Segmentation, Word, segment
from polynlu.text.spans import OUTSIDE, Span, labels_from_spans
from polynlu.text.validation import MAX_TEXT_CHARS, text_problem


@dataclass(frozen=True)
class Example:
    """One labelled utterance."""

    id: str
    locale: str
    partition: str
    scenario: str
    intent: str
    utt: str
    annot_utt: str
    words: tuple[Word, ...]
    labels: tuple[str, ...]
    slots: tuple[Span, ...]


def example_from_spans(
    *,
    id: str,
    locale: str,
    intent: str,
    utt: str,
    spans: Sequence[Span],
    partition: str = "train",
    scenario: str = "",
    segmentation: Segmentation = "punctuation",
) -> Example:
    """An ``Example`` from character spans; a ``DataError`` (naming the field) when the text
    is unreadable or a slot does not cover whole words, as the benchmark words count them."""
    problem = text_problem(utt, max_chars=MAX_TEXT_CHARS)
    if problem:
        raise DataError(problem, field="text", row_id=id)
    if not intent.strip():
        raise DataError("no intent", field="intent", row_id=id)
    ordered = sorted(spans, key=lambda span: span.start)
    for previous, span in zip([None, *ordered], ordered, strict=False):
        if not span.label.strip() or span.label == OUTSIDE:
            raise DataError(f"slot name {span.label!r} is not allowed", field="slot", row_id=id)
        if not 0 <= span.start < span.end <= len(utt):
            raise DataError(f"slot {span.label} is outside the text", field="slot", row_id=id)
        if previous is not None and span.start < previous.end:
            raise DataError(f"overlapping slots at character {span.start}", field="slot")
    # Formats mark slots by characters, so a slot may start or end inside a word (Snips'
    # 2017 data has 'one pm' + 'near' glued into 'pmnear'): the word is split there, and the
    # labels stay exactly what the data says.
    boundaries = {offset for span in ordered for offset in (span.start, span.end)}
    words = _split_at(segment(utt, locale, segmentation), boundaries)
    return Example(
        id=id,
        locale=locale,
        partition=partition,
        scenario=scenario,
        intent=intent,
        utt=utt,
        annot_utt=format_annotation(utt, ordered),
        words=tuple(words),
        labels=tuple(labels_from_spans(words, ordered)),
        slots=tuple(ordered),
    )


def _split_at(words: list[Word], boundaries: set[int]) -> list[Word]:
    result: list[Word] = []
    for word in words:
        cuts = sorted(b for b in boundaries if word.start < b < word.end)
        edges = [word.start, *cuts, word.end]
        result += [
            Word(word.text[a - word.start : b - word.start], a, b)
            for a, b in itertools.pairwise(edges)
        ]
    return result


@dataclass
class DataSet:
    """What a data file (or folder) holds: examples, and the vocabulary some formats carry
    beside them, so that converting between formats that can hold it loses nothing."""

    examples: list[Example]
    format: str
    source: str
    synonyms: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """Slot type ('' for any) → canonical value → the variants that mean it."""
    lookups: dict[str, list[str]] = field(default_factory=dict)
    """Name → known values (Rasa lookup tables, Snips entity values, polynlu lookups)."""
    regexes: dict[str, list[str]] = field(default_factory=dict)
    """Name → patterns (Rasa regex features)."""
    partitioned: bool = False
    """Whether the examples carry their own train/dev/test partitions (MASSIVE does)."""
    segmentation: Segmentation = "punctuation"
    """The words the examples' labels are on: MASSIVE's ``benchmark`` words, or words with
    punctuation split off for formats that mark slots by characters."""
    skipped: list[DataError] = field(default_factory=list)
    """Rows a reader could not read and left out (``skip_invalid``), each naming where and
    why; without ``skip_invalid`` the first of them is raised instead."""

    def slot_values(self) -> dict[str, dict[str, str]]:
        """``synonyms`` as the model keeps them: slot type → case-folded variant (and the
        canonical value itself) → canonical value."""
        return {
            slot: {
                variant.casefold().strip(): canonical
                for canonical, variants in table.items()
                for variant in (canonical, *variants)
            }
            for slot, table in self.synonyms.items()
        }

    @property
    def locales(self) -> list[str]:
        return sorted({example.locale for example in self.examples})

    @property
    def intents(self) -> list[str]:
        return sorted({example.intent for example in self.examples})

    @property
    def slot_types(self) -> list[str]:
        return sorted({span.label for example in self.examples for span in example.slots})


def hold_out(
    examples: Sequence[Example], fraction: float = 0.1, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """Split ``examples`` into train and a held-out dev set, ``fraction`` of each intent (at
    least one, and never an intent's last example): for data without its own dev partition."""
    by_intent: dict[str, list[Example]] = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(example)
    generator = random.Random(seed)
    train: list[Example] = []
    dev: list[Example] = []
    for intent in sorted(by_intent):
        group = list(by_intent[intent])
        generator.shuffle(group)
        count = min(len(group) - 1, max(1, round(fraction * len(group))))
        dev += group[:count]
        train += group[count:]
    return train, dev
