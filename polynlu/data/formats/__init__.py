"""Data formats, read into ``Example``s and written back: one module per format, each a
``DataFormat`` registered in ``DATA_FORMATS``.

``read_data(path)`` detects the format from the extension and the content (``format=`` forces
one); ``write_data(data, path, format)`` writes one and returns what the format could not hold.
Every reader reports a row it cannot read as a ``DataError`` naming the file, line and field:
raised, or with ``skip_invalid`` kept in ``DataSet.skipped`` while the reader goes on. A file
that cannot be read at all (not YAML, not JSON, not the format) always raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from polynlu.data.example import DataSet
from polynlu.errors import DataError, PolynluError
from polynlu.registry import Registry

DEFAULT_LOCALE = "en-US"
"""The locale of formats that do not say theirs (Rasa, CoNLL), unless ``locale=`` is given."""


class Reader(Protocol):
    def __call__(self, path: Path, *, locale: str | None, skip_invalid: bool) -> DataSet: ...


class Writer(Protocol):
    def __call__(self, data: DataSet, path: Path) -> list[str]:
        """Write ``data`` to ``path``; return what this format could not hold, in words."""
        ...


class Detector(Protocol):
    def __call__(self, path: Path) -> bool: ...


@dataclass(frozen=True)
class DataFormat:
    name: str
    summary: str
    read: Reader
    write: Writer
    detect: Detector
    """Whether ``path`` (a file or folder) looks like this format."""


DATA_FORMATS: Registry[DataFormat] = Registry("data format", entry_point_group="polynlu.formats")
"""In the order detection tries them."""
for _name, _module, _summary in (
    ("massive", "massive", "MASSIVE JSON lines"),
    ("polynlu", "native", "polynlu's own YAML"),
    ("rasa", "rasa", "Rasa NLU YAML"),
    ("snips", "snips", "Snips NLU JSON"),
    ("conll", "conll", "CoNLL / BIO token lines"),
    ("sib", "sib", "SIB-200 <variety>/{train,dev}.tsv folders"),
):
    DATA_FORMATS.register_lazy(_name, f"polynlu.data.formats.{_module}:FORMAT", summary=_summary)


def detect_format(path: Path) -> str:
    if str(path) == "massive":  # the fetched copy, named as --data takes it
        return "massive"
    if not path.exists():
        raise PolynluError(f"data '{path}' not found")
    for name in DATA_FORMATS.names():
        if DATA_FORMATS.get(name).detect(path):
            return name
    raise PolynluError(
        f"cannot tell the format of {path}: pass --format ({', '.join(DATA_FORMATS.names())})"
    )


def read_data(
    path: str | Path,
    *,
    format: str | None = None,
    locale: str | None = None,
    skip_invalid: bool = False,
) -> DataSet:
    """Read a data file or folder in ``format`` (detected when None); ``locale`` is the
    locale of formats that do not record one (default en-US). ``skip_invalid`` leaves out
    the rows that cannot be read, listed in ``DataSet.skipped``, instead of raising."""
    path = Path(path).expanduser()
    name = format or detect_format(path)
    return DATA_FORMATS.get(name).read(path, locale=locale, skip_invalid=skip_invalid)


def skip_or_raise(data: DataSet, error: DataError, skip_invalid: bool) -> None:
    """A reader's one way to handle a row it cannot read."""
    if not skip_invalid:
        raise error from None
    data.skipped.append(error)


def write_data(data: DataSet, path: str | Path, format: str) -> list[str]:
    return DATA_FORMATS.get(format).write(data, Path(path))


def vocabulary_losses(data: DataSet) -> list[str]:
    """What a format that holds only utterances loses of ``data``'s vocabulary."""
    losses = []
    if data.synonyms:
        losses.append(f"synonyms of {len(data.synonyms)} slot type(s)")
    if data.lookups:
        losses.append(f"{len(data.lookups)} lookup list(s)")
    if data.regexes:
        losses.append(f"{len(data.regexes)} regex feature(s)")
    return losses


def locale_or_default(locale: str | None) -> str:
    return locale or DEFAULT_LOCALE
