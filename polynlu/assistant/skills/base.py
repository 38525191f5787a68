"""What a skill is: the scenarios it serves and one method, (request, state) → reply.

A reply is a template key and its values, not text: ``replies`` words it in the user's
language and formats its dates, times and numbers with Babel, so a skill never knows which
language it answers in.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from polynlu.assistant.resolve import SlotResolver
from polynlu.assistant.state import AssistantState
from polynlu.registry import Registry
from polynlu.types import Interpretation


@dataclass(frozen=True)
class SkillRequest:
    interpretation: Interpretation
    """Slots resolved (``Slot.resolved``)."""
    now: datetime
    resolver: SlotResolver
    filler_words: frozenset[str] = frozenset()
    """The user's language's function words ("add", "to", "my"), for skills that take a
    value no slot marks (the item added to a list)."""

    @property
    def intent(self) -> str:
        return self.interpretation.intent

    def slot(self, *types: str) -> str | None:
        """The first value of the first of ``types`` present."""
        for slot_type in types:
            for slot in self.interpretation.slots:
                if slot.slot == slot_type:
                    return slot.value
        return None

    def resolved(self, slot_type: str) -> str | None:
        return next((s.resolved for s in self.interpretation.slots if s.slot == slot_type), None)

    def when(self) -> datetime | None:
        return self.resolver.when(self.interpretation)

    def unmarked_words(self, *, keep: Callable[[str], bool] = lambda slot_type: False) -> str:
        """The utterance's words outside its slots (but those of the types ``keep`` keeps)
        and not filler: "add [milk] to my shopping list" → "milk"."""
        text = self.interpretation.text
        for slot in sorted(self.interpretation.slots, key=lambda s: -s.start):
            if not keep(slot.slot):
                text = text[: slot.start] + " " + text[slot.end :]
        words = [w for w in text.split() if w.lower().strip(".,!?¿¡") not in self.filler_words]
        return " ".join(words).strip(".,!?¿¡ ")


@dataclass(frozen=True)
class SkillReply:
    key: str
    """The reply template's key (``alarm_set``), in ``replies/<language>.json``."""
    values: dict[str, Any] = field(default_factory=dict)
    """What the template's fields are filled with: datetimes, numbers, timedeltas and lists
    are formatted in the user's locale."""
    done: bool = True
    """False when the skill could not do what was asked (a missing time, no such list)."""


class Skill(ABC):
    """A skill serves the intents of its ``scenarios`` (MASSIVE's ``alarm`` for
    ``alarm_set``, ``alarm_query``...). Adding one is one module and a registration in
    ``SKILLS`` (or an entry point in ``polynlu.skills``)."""

    scenarios: ClassVar[tuple[str, ...]] = ()
    intents: ClassVar[tuple[str, ...]] = ()
    """Where set, the only intents of its scenarios the skill serves (``qa_maths`` of
    ``qa``); the others go on to the next skill for the scenario."""

    def serves(self, intent: str) -> bool:
        if self.intents:
            return intent in self.intents
        return scenario_of(intent) in self.scenarios

    @abstractmethod
    def handle(self, request: SkillRequest, state: AssistantState) -> SkillReply: ...


SKILLS: Registry[type[Skill]] = Registry("skill", entry_point_group="polynlu.skills")


def scenario_of(intent: str) -> str:
    """MASSIVE's convention: the scenario is the intent's first word (``iot_hue_lightoff`` →
    ``iot``); an intent without one is its own scenario (``book_table`` → ``book``)."""
    return intent.split("_", 1)[0]
