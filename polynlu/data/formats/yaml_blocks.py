"""YAML block scalars as both YAML formats (Rasa's and polynlu's) use them: one entry a line,
written as a literal block (``examples: |``), read back with each line's number in the file."""

from __future__ import annotations

from typing import Any

import yaml


class LiteralBlock(str):
    """A string ``dump`` writes as a literal block (PyYAML falls back to quoting where a
    line has trailing spaces, which a block cannot hold)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    LiteralBlock,
    lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", str(text), style="|"),
)


def dump(document: Any) -> str:
    return yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)


def block_lines(node: yaml.ScalarNode) -> list[tuple[int, str]]:
    """The non-blank lines of a scalar with their 1-based line numbers in the file (a block's
    text starts on the line after its ``|`` or ``>``)."""
    first = node.start_mark.line + (2 if node.style in ("|", ">") else 1)
    return [
        (first + offset, line)
        for offset, line in enumerate(str(node.value).split("\n"))
        if line.strip()
    ]
