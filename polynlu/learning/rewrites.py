"""The rewrite table: utterances that fail, each with the rephrase most likely to succeed
(``markov.AbsorbingChain.best_rewrite``), saved as JSON beside a model and looked up before
the model parses.

Keys are ``sessions.normalise``d, so "Play LOTR!" finds the rewrite learned from "play lotr".
A table learned from a log without text (``--no-log-text``) holds hashed states, which no
request can match: it is refused at build time rather than saved useless.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from polynlu.errors import PolynluError
from polynlu.learning.markov import Rewrite
from polynlu.learning.sessions import normalise

REWRITES_FILE = "rewrites.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class RewriteTable:
    rewrites: dict[str, Rewrite]
    """Normalised utterance → its rewrite."""

    @classmethod
    def from_rewrites(cls, rewrites: Iterable[Rewrite]) -> RewriteTable:
        table: dict[str, Rewrite] = {}
        for rewrite in rewrites:
            if rewrite.source.startswith("#") or rewrite.target.startswith("#"):
                raise PolynluError(
                    "rewrites need the utterances' text, and this log kept only hashes "
                    "(served with --no-log-text)"
                )
            table[normalise(rewrite.source)] = rewrite
        return cls(table)

    def lookup(self, text: str) -> Rewrite | None:
        """The rewrite for ``text``, written any way that normalises alike."""
        return self.rewrites.get(normalise(text))

    def target_of(self, text: str) -> str | None:
        """What to parse instead of ``text`` (``NLU.rewriter``), or None."""
        rewrite = self.lookup(text)
        return rewrite.target if rewrite is not None else None

    def __len__(self) -> int:
        return len(self.rewrites)

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / REWRITES_FILE
        body = {
            "format": "polynlu rewrites",
            "version": FORMAT_VERSION,
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
            return cls.from_rewrites(Rewrite(**entry) for entry in body["rewrites"])
        except (KeyError, TypeError) as error:
            raise PolynluError(f"{path}: a rewrite entry is malformed ({error})") from None
