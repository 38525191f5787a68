"""Slot values resolved before skills see them: "five am this friday" → 2026-11-27T05:00,
"fifty percent" → 50, in the user's language.

Dates and times are dateparser's (200+ locales, relative expressions included); number words
become digits with text2num first where it knows the language (dateparser reads "5 am", not
"five am"). Both are well kept; the few rewrites here only put clock times in the shape
dateparser reads ("7 30 pm" → "7:30 pm", "7 Uhr" → "7:00").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from polynlu.langid import language_of
from polynlu.types import Interpretation, Slot

NUMBER_WORD_LANGUAGES = ("en", "fr", "es", "pt", "de", "it", "nl", "ca")
"""The languages text2num reads number words in."""

DATE_SLOT_WORDS = ("date", "time")
NUMBER_SLOT_WORDS = ("amount", "number", "count", "quantity", "percent")
"""A slot type resolves as a date/time or a number when its name contains one of these
(MASSIVE's ``date``, ``time``, ``change_amount``; a user's ``booking_date``); ``timeofday``
and ``time_zone`` are names, not moments, and stay unresolved."""
_NOT_MOMENTS = ("timeofday", "time_zone")

_HOUR_WORDS = r"uhr|heures?|h|時|点|시|horas?|ore|uur"
_HOUR_AND_MINUTES = re.compile(r"\b(\d{1,2}) (\d{2})\b")
""""7 30 pm" (number words turned to digits) → "7:30 pm"."""
_HOUR_WORD = re.compile(rf"(\d{{1,2}})\s*(?:{_HOUR_WORDS})(?:\s*(\d{{2}}))?(?!\w)", re.I)
""""7 Uhr", "7 h 30" → "7:00", "7:30"."""
_BASE_SHIFT = timedelta(hours=7, minutes=13, seconds=17)
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


def _clock(match: re.Match[str]) -> str:
    return f"{match.group(1)}:{match.group(2) or '00'}"


def digits_for_words(text: str, language: str) -> str:
    if language not in NUMBER_WORD_LANGUAGES:
        return text
    from text_to_num import alpha2digit

    try:
        converted: str = alpha2digit(text, language)
    except Exception:  # text2num refuses some mixes of words; the words then stay words
        return text
    return converted


def _moment_text(slot: Slot, language: str) -> str:
    """The slot's text as dateparser should read it: a bare number in a time slot ("at
    [time : five]") is an hour, not a day of the month."""
    text = digits_for_words(slot.value, language).strip()
    if "time" in slot.slot.lower() and re.fullmatch(r"\d{1,2}", text):
        return f"{text}:00"
    return text


def _moment_parts(interpretation: Interpretation) -> tuple[str, list[str]]:
    """The utterance's language and the texts of its date and time slots, in order."""
    language = language_of(interpretation.locale or "en-US")
    parts = [
        _moment_text(s, language) for s in interpretation.slots if slot_kind(s.slot) == "datetime"
    ]
    return language, parts


def slot_kind(slot_type: str) -> str | None:
    """``datetime``, ``number`` or None: how a slot of this type is resolved."""
    name = slot_type.lower()
    if name in _NOT_MOMENTS:
        return None
    if any(word in name for word in DATE_SLOT_WORDS):
        return "datetime"
    if any(word in name for word in NUMBER_SLOT_WORDS):
        return "number"
    return None


@dataclass
class SlotResolver:
    """``resolve(interpretation)`` → the same interpretation, its slots' ``resolved`` set."""

    now: Callable[[], datetime] = datetime.now
    """The moment relative expressions count from ("tomorrow"); the tests fix it."""

    def resolve(self, interpretation: Interpretation) -> Interpretation:
        language = language_of(interpretation.locale or "en-US")
        slots = tuple(self._resolve_slot(slot, language) for slot in interpretation.slots)
        return replace(interpretation, slots=slots)

    def _resolve_slot(self, slot: Slot, language: str) -> Slot:
        kind = slot_kind(slot.slot)
        value: str | None = None
        if kind == "datetime":
            moment = self._moment_of(_moment_text(slot, language), language)
            if moment is not None and "time" not in slot.slot.lower():
                value = moment.date().isoformat()  # a date slot names a day, not a minute
            else:
                value = moment.isoformat(timespec="minutes") if moment else None
        elif kind == "number":
            number = self.number_of(slot.value, language)
            value = f"{number:g}" if number is not None else None
        return replace(slot, resolved=value) if value is not None else slot

    def _moment_of(
        self, text: str, language: str, *, base: datetime | None = None
    ) -> datetime | None:
        """The moment ``text`` names, counted from ``base`` (now) and preferring the future.
        ``text`` has its number words in digits already (``_moment_text``)."""
        import dateparser

        text = _HOUR_AND_MINUTES.sub(r"\1:\2", text)
        text = _HOUR_WORD.sub(_clock, text)
        settings: Any = {"RELATIVE_BASE": base or self.now(), "PREFER_DATES_FROM": "future"}
        try:
            result: datetime | None = dateparser.parse(
                text, languages=[language], settings=settings
            )
        except ValueError:  # an unsupported language code: parse without the hint
            result = dateparser.parse(text, settings=settings)
        return result

    def when(self, interpretation: Interpretation) -> datetime | None:
        """The one moment all of an utterance's date and time slots name together
        ("five am" + "this friday"), for the skills that set things for a moment."""
        language, parts = _moment_parts(interpretation)
        if not parts:
            return None
        return self._moment_of(" ".join(parts), language) or next(
            (m for part in parts if (m := self._moment_of(part, language))), None
        )

    def span_of(self, interpretation: Interpretation) -> timedelta | None:
        """The span the date and time slots name, where they name one counted from now ("in
        ten minutes", "forty minutes from now"): a timer's, not an alarm's. Told apart in any
        language dateparser reads by counting from two moments: a span moves with its base,
        a clock time ("five am") does not."""
        language, parts = _moment_parts(interpretation)
        if not parts:
            return None
        text = " ".join(parts)
        first = self.now()
        second = first + _BASE_SHIFT
        at_first = self._moment_of(text, language, base=first)
        at_second = self._moment_of(text, language, base=second)
        if at_first is None or at_second is None:
            return None
        span = at_first - first
        if at_second - second != span or not timedelta(0) < span < timedelta(days=1):
            return None
        return span

    @staticmethod
    def number_of(text: str, language: str) -> float | None:
        match = _NUMBER.search(digits_for_words(text, language))
        return float(match.group().replace(",", ".")) if match else None
