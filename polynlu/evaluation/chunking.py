"""Gold word labels read from ``annot_utt`` the way MASSIVE's official code reads them.

MASSIVE's published figures come from ``scripts/create_hf_dataset.py``'s reading of
``annot_utt``, and polynlu scores that way by default, so that its figures compare with them.
That reading differs from the annotation's own meaning in one place: in ja-JP, zh-CN and zh-TW,
after a chunk of ASCII characters that closes a slot (``… iphone]``), it keeps the slot's label
for the words that follow, up to the next slot or the next non-ASCII ``]``. polynlu's own
reading (``data.annotation``, the ``Example.labels``) ends the slot at the bracket; scores on
those labels are reported beside the official ones as ``corrected``.

This is polynlu's own code, written from the official script's behaviour; ``tests/
test_metrics.py`` pins it on hand-worked cases, and ``tools/massive_score.py`` (which shares no
code with polynlu) checks it on whole evaluations.
"""

from __future__ import annotations

from typing import Literal

from polynlu.text.segmentation import CHARACTER_SEGMENTED_LOCALES, Segmentation
from polynlu.text.spans import OUTSIDE

Chunking = Literal["official", "corrected"]
CHUNKINGS: tuple[Chunking, ...] = ("official", "corrected")


def chunking_for(segmentation: Segmentation) -> Chunking:
    """The official reading applies to MASSIVE's own words; data read with punctuation split
    off (a user's own formats) is scored on its examples' labels."""
    return "official" if segmentation == "benchmark" else "corrected"


def official_labels(annot_utt: str, locale: str) -> list[str]:
    """One label per token of the official tokenization of ``annot_utt``."""
    if locale in CHARACTER_SEGMENTED_LOCALES:
        return _character_locale_labels(annot_utt)
    return _word_locale_labels(annot_utt)


def _word_locale_labels(annot_utt: str) -> list[str]:
    labels: list[str] = []
    label = OUTSIDE
    chunks = annot_utt.split()
    index = 0
    while index < len(chunks):
        chunk = chunks[index]
        if chunk.startswith("["):
            label = chunk.lstrip("[")
            index += 2  # the slot name, then its ':'
            continue
        labels.append(label)
        if chunk.endswith("]"):
            label = OUTSIDE
        index += 1
    return labels


def _character_locale_labels(annot_utt: str) -> list[str]:
    labels: list[str] = []
    label = OUTSIDE
    expect_colon = False
    for chunk in annot_utt.split():
        if chunk.startswith("["):
            label, expect_colon = chunk.lstrip("["), True
            continue
        if chunk == ":" and expect_colon:
            expect_colon = False
            continue
        if chunk.isascii():
            # One token, its ']' stripped, and the label kept: the official quirk.
            labels.append(label)
            continue
        for character in chunk:
            if character == "]":
                label = OUTSIDE
            else:
                labels.append(label)
    return labels
