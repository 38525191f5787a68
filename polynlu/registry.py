"""Registries: a name → a thing (a model kind, a trainer, a backbone source, an export format).

Adding a thing is one module plus its registration, and every place that offers a choice (the
CLI's options and help, error messages) reads the registry instead of repeating a list:

- ``@REGISTRY.register("name")`` on a class or function, in the module that defines it;
- ``REGISTRY.register_lazy("name", "module:attribute")`` for built-ins whose modules are heavy
  (PyTorch): the name is known at once, the module is imported on first use;
- an entry point in the group the registry names, for packages outside polynlu
  (``[project.entry-points."polynlu.model_kinds"] mine = "my_pkg.model:MyModel"``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from polynlu.errors import PolynluError

T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    summary: str
    value: T | None = None
    path: str | None = None
    """``module:attribute``, imported on first use when ``value`` is None."""


class Registry(Generic[T]):
    """Names → things of one sort, in registration order."""

    def __init__(self, what: str, *, entry_point_group: str | None = None) -> None:
        self.what = what
        """What the things are, for messages: 'model kind', 'export format'."""
        self.entry_point_group = entry_point_group
        self._entries: dict[str, _Entry[T]] = {}
        self._plugins_read = False

    def register(self, name: str, *, summary: str = "") -> Callable[[T], T]:
        """A decorator: ``@KINDS.register("mine")`` above ``class MyModel``."""

        def add(value: T) -> T:
            known = self._entries.get(name)
            if known is not None and known.value is not None and known.value is not value:
                raise PolynluError(f"the {self.what} '{name}' is registered already")
            if known is not None and known.path is not None and known.value is None:
                known.value = value  # the lazy entry's module, imported: the same thing
                return value
            self._entries[name] = _Entry(summary, value=value)
            return value

        return add

    def register_lazy(self, name: str, path: str, *, summary: str = "") -> None:
        """Register ``module:attribute`` without importing it yet."""
        if name in self._entries:
            raise PolynluError(f"the {self.what} '{name}' is registered already")
        self._entries[name] = _Entry(summary, path=path)

    def unregister(self, name: str) -> None:
        """Forget ``name`` (tests that register a thing clean up after themselves)."""
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        self._read_plugins()
        entry = self._entries.get(name)
        if entry is None:
            raise PolynluError(
                f"unknown {self.what} '{name}' (available: {', '.join(self.names())})"
            )
        if entry.value is None:
            assert entry.path is not None
            module, _, attribute = entry.path.partition(":")
            entry.value = getattr(importlib.import_module(module), attribute)
        assert entry.value is not None
        return entry.value

    def names(self) -> list[str]:
        self._read_plugins()
        return list(self._entries)

    def summaries(self) -> str:
        """``joint (a neural encoder with two heads), baseline (…)``: for the CLI's help."""
        return ", ".join(
            f"{name} ({entry.summary})" if entry.summary else name
            for name, entry in self._entries.items()
        )

    def __contains__(self, name: object) -> bool:
        self._read_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _read_plugins(self) -> None:
        if self._plugins_read or self.entry_point_group is None:
            return
        self._plugins_read = True
        for point in entry_points(group=self.entry_point_group):
            if point.name not in self._entries:
                self._entries[point.name] = _Entry("", path=point.value)
