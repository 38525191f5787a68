"""Locales and the languages behind them: language, script, genus, family, and whether the
encoder saw the language in pre-training.

Two tables ship with polynlu. ``massive_locales.tsv`` is the 52 MASSIVE locales, following
Table 2 of the MASSIVE paper. ``languages.tsv`` is the 205 FLORES-200 varieties of SIB-200
(``quy_Latn``), each with its BCP-47 code as lexicons name it (GATITOS' ``qu``) and its
MASSIVE locale where it has one: the one place where the three code systems meet. Reports
average the metrics over each grouping.

"Seen in pre-training" means one of XLM-R's 100 languages (Conneau et al., 2020, Table 6):
multilingual-e5-small inherits XLM-R's vocabulary through Multilingual-MiniLM. A variety is
seen only when its own language is on that list, so Arabic dialects and Nynorsk count as
unseen even though text close to them was.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from polynlu.errors import PolynluError

LOCALE_PATTERN = re.compile(r"^(?:[a-z]{2,3}-[A-Z]{2}|[a-z]{3}_[A-Z][a-z]{3})$")
"""MASSIVE's ``de-DE``, or FLORES-200's ``quy_Latn``."""
GROUPINGS = ("family", "genus", "script", "pretraining")
UNKNOWN_GROUP = "unknown"


@dataclass(frozen=True)
class LocaleInfo:
    locale: str
    language: str
    script: str
    genus: str
    family: str
    pretraining: str = UNKNOWN_GROUP
    """``seen`` or ``unseen``: whether the encoder's pre-training had this language."""

    def group(self, grouping: str) -> str:
        if grouping not in GROUPINGS:
            raise ValueError(f"unknown grouping {grouping!r}; choose from {GROUPINGS}")
        value: str = getattr(self, grouping)
        return value


@dataclass(frozen=True)
class Language:
    """One row of ``languages.tsv``: a FLORES-200 variety and its other names."""

    flores: str
    bcp47: str
    massive: str
    """The MASSIVE locale, or '' where MASSIVE has none."""
    info: LocaleInfo


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("polynlu.data").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines(), delimiter="\t"))


@cache
def languages() -> dict[str, Language]:
    """The 205 FLORES-200 varieties of SIB-200, keyed by FLORES code."""
    result = {}
    for row in _rows("languages.tsv"):
        info = LocaleInfo(
            row["flores"],
            row["language"],
            row["script"],
            row["genus"],
            row["family"],
            row["pretraining"],
        )
        result[row["flores"]] = Language(row["flores"], row["bcp47"], row["massive"], info)
    return result


@cache
def massive_locales() -> dict[str, LocaleInfo]:
    """The 52 MASSIVE locales, keyed by locale code, in the table's order."""
    seen = {lang.massive: lang.info.pretraining for lang in languages().values() if lang.massive}
    return {
        row["locale"]: LocaleInfo(**row, pretraining=seen.get(row["locale"], UNKNOWN_GROUP))
        for row in _rows("massive_locales.tsv")
    }


@cache
def _by_code() -> dict[str, Language]:
    """Every code a language goes by (FLORES, BCP-47, MASSIVE) → its row."""
    table: dict[str, Language] = {}
    for lang in languages().values():
        for code in (lang.bcp47, lang.massive, lang.flores):
            if code:
                table[code] = lang
    return table


def find_language(code: str) -> Language | None:
    """The language a FLORES-200 (``quy_Latn``), BCP-47 (``qu``, ``zh-Hant``) or MASSIVE
    (``de-DE``) code names; None when the table does not know it."""
    return _by_code().get(code)


def locale_for(code: str, available: Iterable[str]) -> str | None:
    """The locale of ``available`` (the data's) that ``code`` names, in whichever code
    system each uses: lexicon ``qu`` → SIB-200 ``quy_Latn``, lexicon ``es`` → MASSIVE
    ``es-ES``. None when the data has no such locale."""
    present = set(available)
    if code in present:
        return code
    lang = find_language(code)
    if lang is None:
        return None
    return next((c for c in (lang.flores, lang.massive, lang.bcp47) if c in present), None)


def locale_info(locale: str) -> LocaleInfo | None:
    info = massive_locales().get(locale)
    if info is None and (lang := languages().get(locale)) is not None:
        info = lang.info
    return info


def group_of(locale: str, grouping: str) -> str:
    """The locale's family, genus or script; ``unknown`` for locales outside the table."""
    info = locale_info(locale)
    return info.group(grouping) if info else UNKNOWN_GROUP


def parse_locale_list(spec: str | Sequence[str], available: Iterable[str]) -> list[str]:
    """Turn ``all``, ``en-US`` or ``en-US,de-DE`` into a checked list of locales.

    ``available`` are the locales the data actually has; ``all`` means all of them.
    """
    available_sorted = sorted(set(available))
    items = [spec] if isinstance(spec, str) else list(spec)
    parts = [p.strip() for item in items for p in item.split(",") if p.strip()]
    if not parts:
        raise PolynluError("no locale given: pass 'all' or codes such as 'en-US,de-DE'")
    if parts == ["all"]:
        return available_sorted
    chosen: list[str] = []
    for part in parts:
        if not LOCALE_PATTERN.match(part):
            raise PolynluError(
                f"'{part}' is not a locale code: expected language-REGION, such as 'en-US', "
                "or a FLORES-200 variety, such as 'quy_Latn'"
            )
        if part not in available_sorted:
            raise PolynluError(
                f"locale '{part}' is not in the data (it has {len(available_sorted)}: "
                f"{', '.join(available_sorted)})"
            )
        if part not in chosen:
            chosen.append(part)
    return chosen
