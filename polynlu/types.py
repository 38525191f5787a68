"""The values that flow out of every model: an ``Interpretation`` with its ``Slot`` spans.

Plain frozen dataclasses, so that the lowest layers can use them without pulling in pydantic;
the HTTP layer wraps them in its own typed models.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Slot:
    """A slot value as a character span of the utterance: ``text[start:end] == value``."""

    slot: str
    value: str
    start: int
    end: int
    confidence: float | None = None
    normalized: str | None = None
    """The canonical value the data's synonyms give ``value`` (``nyc`` → ``New York City``),
    or None where they give none."""
    resolved: str | None = None
    """What the value means, where the assistant's resolver can tell (``assistant.resolve``):
    ISO 8601 for dates (``2026-11-27``) and times (``2026-11-27T05:00``), a number (``50``)
    for amounts; None where it cannot, or before resolution."""


@dataclass(frozen=True)
class IntentScore:
    intent: str
    confidence: float


@dataclass(frozen=True)
class Interpretation:
    """What an utterance means to the assistant."""

    text: str
    intent: str
    confidence: float
    slots: tuple[Slot, ...] = ()
    locale: str | None = None
    alternatives: tuple[IntentScore, ...] = field(default_factory=tuple)
    out_of_scope: bool = False
    """The calibrated confidence is below the model's out-of-scope threshold."""
    locale_source: str | None = None
    """``given`` by the caller, ``detected`` by language identification, or None (unknown)."""
    zero_shot: bool | None = None
    """The model saw no training data in this locale's language (None: locale unknown)."""
    rewritten_from: str | None = None
    """The text as it came, where a rewrite learned from use replaced it before the model
    read it (``NLU.rewriter``); ``text`` and the slots are then the rewrite's."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
