"""The rewrite table: utterances that fail, each with the rephrase most likely to succeed
(``markov.AbsorbingChain.best_rewrite``), saved as JSON beside a model and looked up before
the model parses.

Keys are ``sessions.normalise``d, so "Play LOTR!" finds the rewrite learned from "play lotr".
Near matches find it too: one character typed in, left out or mistyped ("play lotrr"), or
accents left off, as long as the digits are the same ("at 5" never finds "at 6"). Variants
the log showed are in the table already (``learner`` clusters them).

A near match is one dictionary probe per deletion of one character (SymSpell's idea: keys
and query meet at a common deletion), so a lookup costs microseconds however large the table;
an edit-distance scan over every key would cost a request milliseconds.

A table learned from a log without text (``--no-log-text``) holds hashed states, which no
request can match: it is refused at build time rather than saved useless.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from polynlu.errors import PolynluError
from polynlu.learning.markov import Rewrite
from polynlu.learning.sessions import normalise

REWRITES_FILE = "rewrites.json"
FORMAT_VERSION = 1


MIN_NEAR_CHARS = 8
"""Shorter utterances match exactly only: one character is too much of "go" or "play u2"."""


class RewriteTable:
    def __init__(self, rewrites: dict[str, Rewrite], source: dict[str, Any] | None = None):
        self.rewrites = rewrites
        """Normalised utterance → its rewrite."""
        self.source = source or {}
        """What the table was learned from (the log, its requests), as saved."""
        self._near: dict[str, str] = {}
        # Better-supported rewrites claim a shared deletion first.
        for key in sorted(rewrites, key=lambda k: (-rewrites[k].support, k)):
            folded = _fold(key)
            if len(folded) >= MIN_NEAR_CHARS:
                for variant in _with_deletions(folded):
                    self._near.setdefault(variant, key)

    @classmethod
    def from_rewrites(
        cls, rewrites: Iterable[Rewrite], source: dict[str, Any] | None = None
    ) -> RewriteTable:
        table: dict[str, Rewrite] = {}
        for rewrite in rewrites:
            if rewrite.source.startswith("#") or rewrite.target.startswith("#"):
                raise PolynluError(
                    "rewrites need the utterances' text, and this log kept only hashes "
                    "(served with --no-log-text)"
                )
            table[normalise(rewrite.source)] = rewrite
        return cls(table, source)

    def lookup(self, text: str) -> Rewrite | None:
        """The rewrite for ``text``, written any way that normalises alike, or one typo or
        its accents away."""
        key = normalise(text)
        exact = self.rewrites.get(key)
        if exact is not None:
            return exact
        folded = _fold(key)
        if len(folded) < MIN_NEAR_CHARS:
            return None
        digits = _DIGITS.findall(folded)
        for variant in _with_deletions(folded):
            near = self._near.get(variant)
            if near is not None and _DIGITS.findall(_fold(near)) == digits:
                return self.rewrites[near]
        return None

    def target_of(self, text: str) -> str | None:
        """What to parse instead of ``text`` (``NLU.rewriter``), or None."""
        rewrite = self.lookup(text)
        return rewrite.target if rewrite is not None else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RewriteTable) and other.rewrites == self.rewrites

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self.rewrites)

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / REWRITES_FILE
        body = {
            "format": "polynlu rewrites",
            "version": FORMAT_VERSION,
            "source": self.source,
            "rewrites": [asdict(rewrite) for rewrite in self.rewrites.values()],
        }
        path.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", "utf-8")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> RewriteTable:
        path = Path(folder) / REWRITES_FILE
        try:
            body = json.loads(path.read_text("utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise PolynluError(f"cannot read the rewrite table {path}: {error}") from None
        if body.get("format") != "polynlu rewrites" or body.get("version") != FORMAT_VERSION:
            raise PolynluError(f"{path} is not a polynlu rewrite table of version {FORMAT_VERSION}")
        try:
            return cls.from_rewrites(
                (Rewrite(**entry) for entry in body["rewrites"]), body.get("source")
            )
        except (KeyError, TypeError) as error:
            raise PolynluError(f"{path}: a rewrite entry is malformed ({error})") from None


_DIGITS = re.compile(r"\d")


def _fold(key: str) -> str:
    """``key`` without accents: "café" and "cafe" are one character apart for nobody."""
    bare = "".join(c for c in unicodedata.normalize("NFD", key) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare)  # Hangul syllables whole again


def _with_deletions(key: str) -> Iterator[str]:
    yield key
    for n in range(len(key)):
        yield key[:n] + key[n + 1 :]
