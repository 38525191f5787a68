"""Label sets: which scenarios, intents and slot types a data set may use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Schema:
    name: str
    scenarios: frozenset[str]
    intents: frozenset[str]
    slot_types: frozenset[str]


@cache
def massive_schema() -> Schema:
    """MASSIVE's 18 scenarios, 60 intents and 55 slot types."""
    text = resources.files("polynlu.data").joinpath("massive_schema.json").read_text("utf-8")
    raw = json.loads(text)
    return Schema(
        name=raw["name"],
        scenarios=frozenset(raw["scenarios"]),
        intents=frozenset(raw["intents"]),
        slot_types=frozenset(raw["slot_types"]),
    )
