"""The 52 MASSIVE locales with their language, script, genus and family.

The table (``massive_locales.tsv``) follows Table 2 of the MASSIVE paper; reports average the
metrics over each of these groupings.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from polynlu.errors import PolynluError

LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")
GROUPINGS = ("family", "genus", "script")
UNKNOWN_GROUP = "unknown"


@dataclass(frozen=True)
class LocaleInfo:
    locale: str
    language: str
    script: str
    genus: str
    family: str

    def group(self, grouping: str) -> str:
        if grouping not in GROUPINGS:
            raise ValueError(f"unknown grouping {grouping!r}; choose from {GROUPINGS}")
        value: str = getattr(self, grouping)
        return value


@cache
def massive_locales() -> dict[str, LocaleInfo]:
    """The 52 MASSIVE locales, keyed by locale code, in the table's order."""
    text = resources.files("polynlu.data").joinpath("massive_locales.tsv").read_text("utf-8")
    rows = csv.DictReader(text.splitlines(), delimiter="\t")
    return {row["locale"]: LocaleInfo(**row) for row in rows}


def locale_info(locale: str) -> LocaleInfo | None:
    return massive_locales().get(locale)


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
                f"'{part}' is not a locale code: expected language-REGION, such as 'en-US'"
            )
        if part not in available_sorted:
            raise PolynluError(
                f"locale '{part}' is not in the data (it has {len(available_sorted)}: "
                f"{', '.join(available_sorted)})"
            )
        if part not in chosen:
            chosen.append(part)
    return chosen
