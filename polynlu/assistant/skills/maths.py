"""Arithmetic and unit conversion with pint: "seven times seven", "five miles in kilometres",
"how many grams in a pound".

Number words become digits (text2num), operator words become symbols from a small table
per language, and pint reads the rest: its expression parser evaluates arithmetic without
``eval``, and its unit registry converts. Unit names are pint's (English); other languages
get arithmetic.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from polynlu.assistant.resolve import digits_for_words
from polynlu.assistant.skills.base import Skill, SkillReply, SkillRequest
from polynlu.assistant.state import AssistantState
from polynlu.langid import language_of

OPERATOR_WORDS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        ("percent of", "/100*"),
        ("% of", "/100*"),
        ("multiplied by", "*"),
        ("divided by", "/"),
        ("times", "*"),
        ("plus", "+"),
        ("minus", "-"),
        ("over", "/"),
        ("squared", "**2"),
        ("x", "*"),
    ),
    "de": (
        ("prozent von", "/100*"),
        ("geteilt durch", "/"),
        ("mal", "*"),
        ("plus", "+"),
        ("minus", "-"),
        ("durch", "/"),
    ),
    "fr": (
        ("pour cent de", "/100*"),
        ("divisé par", "/"),
        ("multiplié par", "*"),
        ("fois", "*"),
        ("plus", "+"),
        ("moins", "-"),
    ),
    "es": (
        ("por ciento de", "/100*"),
        ("dividido por", "/"),
        ("dividido entre", "/"),
        ("multiplicado por", "*"),
        ("por", "*"),
        ("más", "+"),
        ("menos", "-"),
    ),
    "it": (("per cento di", "/100*"), ("diviso", "/"), ("per", "*"), ("più", "+"), ("meno", "-")),
    "pt": (
        ("por cento de", "/100*"),
        ("dividido por", "/"),
        ("vezes", "*"),
        ("mais", "+"),
        ("menos", "-"),
    ),
    "nl": (
        ("procent van", "/100*"),
        ("gedeeld door", "/"),
        ("keer", "*"),
        ("maal", "*"),
        ("plus", "+"),
        ("min", "-"),
    ),
}
_EXPRESSION = re.compile(r"[\d.(][\d.\s+\-*/()]*[\d)]|\d+(?:\.\d+)?")
_CONVERSION = (
    re.compile(
        r"how many (?P<to>[a-z ]+?) (?:are )?in (?:a |an |one )?(?P<n>[\d.]+ )?"
        r"(?P<from>[a-z ]+)$"
    ),
    re.compile(r"(?P<n>[\d.]+)\s*(?P<from>[a-z° ]+?) (?:in|to|into) (?P<to>[a-z° ]+)$"),
)


@cache
def _units() -> Any:
    import pint

    return pint.UnitRegistry()


def convert(text: str) -> tuple[float, str, float, str] | None:
    """``(amount, from-unit, result, to-unit)`` for a conversion pint understands."""
    import pint

    text = re.sub(r"^(?:convert|what is|what's|how much is)\s+", "", text.lower()).strip(" ?.")
    for pattern in _CONVERSION:
        match = pattern.search(text)
        if match is None:
            continue
        amount = float((match.group("n") or "1").strip())
        source, target = match.group("from").strip(), match.group("to").strip()
        try:
            result = _units().Quantity(amount, source).to(target)
        except (pint.errors.PintError, AttributeError, ValueError, TypeError):
            continue
        return amount, source, float(result.magnitude), target
    return None


def calculate(text: str, language: str) -> float | None:
    """The value of the arithmetic in ``text``, or None where there is none."""
    import pint

    text = f" {digits_for_words(text.lower(), language)} "
    for word, symbol in OPERATOR_WORDS.get(language, ()):
        text = re.sub(rf"(?<=[\s\d]){re.escape(word)}(?=[\s\d])", f" {symbol} ", text)
    text = text.replace("×", "*").replace("÷", "/")
    candidates = sorted(_EXPRESSION.findall(text), key=len, reverse=True)
    for expression in candidates:
        if not re.search(r"[+\-*/]", expression):
            continue
        try:
            value = _units().parse_expression(expression)
        except (pint.errors.PintError, SyntaxError, ZeroDivisionError, TypeError, ValueError):
            continue
        magnitude = getattr(value, "magnitude", value)
        if isinstance(magnitude, int | float):
            return float(magnitude)
    return None


class Maths(Skill):
    scenarios = ("qa",)
    intents = ("qa_maths",)

    def handle(self, request: SkillRequest, state: AssistantState) -> SkillReply:
        text = request.interpretation.text
        language = language_of(request.interpretation.locale or "en-US")
        conversion = convert(digits_for_words(text, language)) if language == "en" else None
        if conversion is not None:
            amount, source, result, target = conversion
            return SkillReply(
                "conversion",
                {"amount": amount, "from": source, "result": round(result, 4), "to": target},
            )
        value = calculate(text, language)
        if value is None:
            return SkillReply("not_understood", done=False)
        return SkillReply("math_result", {"result": round(value, 6)})
