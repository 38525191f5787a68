"""What counts as readable text, and how it is read line by line, the same everywhere.

The HTTP API, ``polynlu parse -`` and the data readers apply the same rules and limits, so a
row or a line that one refuses, the others refuse with the same words.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

MAX_TEXT_CHARS = 2_000
"""The longest utterance read anywhere (``polynlu serve --max-text-chars`` changes the API's)."""
MAX_LINE_BYTES = 4 * MAX_TEXT_CHARS + 64
"""The longest line ``parse -`` reads: a longer one cannot hold a text within the limit."""
MAX_ROW_BYTES = 64 * 1024
"""The longest data row (a JSON line) read; MASSIVE's longest is under 2 KB."""
LOCALE_PATTERN = (
    r"^(?:[a-z]{2,3}(-[A-Z][a-z]{3})?(-(?:[A-Z]{2}|[0-9]{3}))?|[a-z]{3}_[A-Z][a-z]{3})$"
)
"""BCP 47 language[-Script][-REGION], as MASSIVE writes locales (``de-DE``, ``zh-Hant-TW``), or
a FLORES-200 variety, as SIB-200 names them (``quy_Latn``)."""
ALLOWED_CONTROLS = frozenset("\t\n\r")
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
"""The control-character rule as a JSON Schema pattern, for the OpenAPI schema to state it."""
CONTROL_CHARACTERS = (
    "no control characters (Unicode category Cc: U+0000–U+001F, U+007F–U+009F) but tab, "
    "line feed and carriage return"
)


def unpaired_surrogate(text: str) -> str | None:
    """A description of the first unpaired surrogate in ``text`` (which UTF-8 cannot hold,
    and which JSON's ``\\ud800`` escapes can produce), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return (
            f"contains an unpaired surrogate (U+{ord(text[error.start]):04X} at position "
            f"{error.start}); send valid UTF-8"
        )
    return None


def text_problem(text: str, *, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """Why ``text`` cannot be read as an utterance, or None: an unpaired surrogate, a control
    character, nothing but white space, or over ``max_chars``."""
    surrogate = unpaired_surrogate(text)
    if surrogate:
        return surrogate
    for position, character in enumerate(text):
        if unicodedata.category(character) == "Cc" and character not in ALLOWED_CONTROLS:
            return f"contains the control character U+{ord(character):04X} at position {position}"
    if not text.strip():
        return "is empty or only whitespace"
    if len(text) > max_chars:
        return f"has {len(text):,} characters; the limit is {max_chars:,}"
    return None


MAX_NAME_CHARS = 100
NAME_PATTERN = rf"^[^\s/\[\]:]{{1,{MAX_NAME_CHARS}}}$"
"""An intent or slot name given through the API: no space, slash, bracket or colon (which
would break a URL path or the ``[slot : value]`` syntax)."""


def intent_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an intent, or None."""
    if not name or len(name) > MAX_NAME_CHARS:
        return f"a name has 1 to {MAX_NAME_CHARS} characters"
    if re.match(NAME_PATTERN, name) is None or text_problem(name):
        return "a name has no white space, '/', '[', ']', ':' or control characters"
    return None


LOCALE_MESSAGE = "is not a locale code such as en-US, de-DE or zh-Hant-TW"


def is_locale(value: str) -> bool:
    return re.fullmatch(LOCALE_PATTERN, value) is not None


@dataclass(frozen=True)
class Line:
    number: int
    """1 for the first line."""
    text: str | None
    """The line without its line break and byte-order mark; None if unreadable."""
    problem: str | None = None
    """Why it is unreadable: too long, or not UTF-8."""


def read_lines(stream: BinaryIO, *, max_bytes: int) -> Iterator[Line]:
    """The lines of a byte stream, decoded as UTF-8, in bounded memory: a line over
    ``max_bytes`` is skipped and reported, never held whole; a line that is not UTF-8 is
    reported with the offending byte. Every input line gives exactly one ``Line``."""
    number = 0
    while raw := stream.readline(max_bytes + 1):
        number += 1
        if len(raw) > max_bytes and not raw.endswith(b"\n"):
            length = len(raw)
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(1 << 16)
                length += len(raw)
            yield Line(number, None, f"is {length:,} bytes long; the limit is {max_bytes:,}")
            continue
        # A byte-order mark starts a file; files joined by `cat` put one at a line's start.
        raw = raw.removeprefix(codecs.BOM_UTF8).removesuffix(b"\n").removesuffix(b"\r")
        try:
            yield Line(number, raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            yield Line(
                number,
                None,
                f"is not valid UTF-8 (byte 0x{raw[error.start]:02x} at byte {error.start + 1})",
            )
