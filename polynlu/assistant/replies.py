"""A skill's reply (template key + values) → text in the user's language, with Babel's
dates, times, durations, numbers and lists in that locale's own style.

Templates live in ``replies/<language>.json`` (10 languages). A language without a file
answers in English, and the reply says so (``Reply.fallback``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from polynlu.assistant.skills.base import SkillReply
from polynlu.langid import language_of

FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class Reply:
    text: str
    language: str
    """The language the text is in."""
    fallback: bool
    """The user's language has no templates, so the reply is in English."""


@dataclass(frozen=True)
class Templates:
    language: str
    templates: dict[str, str]
    words: dict[str, str]
    filler_words: frozenset[str]


@cache
def reply_languages() -> tuple[str, ...]:
    folder = resources.files("polynlu.assistant").joinpath("replies")
    return tuple(
        sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))
    )


@cache
def templates_for(language: str) -> Templates:
    """The language's templates, or English's where it has none."""
    if language not in reply_languages():
        language = FALLBACK_LANGUAGE
    text = (
        resources.files("polynlu.assistant").joinpath(f"replies/{language}.json").read_text("utf-8")
    )
    raw = json.loads(text)
    return Templates(language, raw["templates"], raw["words"], frozenset(raw["filler_words"]))


def babel_locale(locale: str | None) -> str:
    """``de-DE`` → ``de_DE``; a FLORES code or None → its language, or English."""
    if not locale:
        return FALLBACK_LANGUAGE
    from babel import Locale, UnknownLocaleError

    for candidate in (locale.replace("-", "_"), language_of(locale)):
        try:
            Locale.parse(candidate)
        except (UnknownLocaleError, ValueError):
            continue
        return candidate
    return FALLBACK_LANGUAGE


def _format(value: Any, field: str, locale: str) -> str:
    from babel import Locale
    from babel.dates import format_date, format_skeleton, format_time, format_timedelta
    from babel.lists import format_list
    from babel.numbers import format_decimal, format_percent

    if value is None:
        return ""
    if isinstance(value, datetime):
        if field == "time":
            return format_time(value, "short", locale=locale)
        if field == "date":
            return format_date(value, "full", locale=locale)
        # The locale's own way of joining a date and a time ("{1}, {0}", "{1} um {0}"),
        # around a short weekday-and-day date and a short time.
        joined: str = Locale.parse(locale).datetime_formats["medium"]
        return joined.format(
            format_time(value, "short", locale=locale),
            format_skeleton("MMMEd", value, locale=locale),
        )
    if isinstance(value, timedelta):
        return format_timedelta(value, threshold=2, locale=locale)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        if field == "level":
            return format_percent(value, locale=locale)
        return format_decimal(value, locale=locale)
    if isinstance(value, list | tuple):
        return format_list([_format(item, field, locale) for item in value], locale=locale)
    return str(value)


def render(reply: SkillReply, locale: str | None) -> Reply:
    """The reply's text in the locale's language (English where it has no templates)."""
    language = language_of(locale) if locale else FALLBACK_LANGUAGE
    templates = templates_for(language)
    fallback = templates.language != language
    formatting = babel_locale(locale) if not fallback else FALLBACK_LANGUAGE
    values = {field: _format(value, field, formatting) for field, value in reply.values.items()}
    if "room" in values and not values["room"]:
        values["room"] = templates.words["all_rooms"]
    template = (
        templates.templates.get(reply.key) or templates_for(FALLBACK_LANGUAGE).templates[reply.key]
    )
    return Reply(template.format(**values), templates.language, fallback)
