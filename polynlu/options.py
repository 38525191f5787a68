"""Putting a user's options onto a settings dataclass, so that defaults live in one place.

The CLI's options and the benchmarks' arguments default to None ("not given"); the library's
settings dataclasses (``TrainConfig``, ``ServeSettings``, …) hold the defaults.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, TypeVar

from polynlu.errors import PolynluError

Settings = TypeVar("Settings")


def with_options(settings: Settings, **options: Any) -> Settings:
    """``settings`` with the options that were given (not None) put in. An option that is no
    field of ``settings`` is refused with its name."""
    names = {f.name for f in dataclasses.fields(settings)}  # type: ignore[arg-type]
    given = {name: value for name, value in options.items() if value is not None}
    unknown = sorted(set(given) - names)
    if unknown:
        raise PolynluError(
            f"{', '.join(option_name(name) for name in unknown)} does not apply here "
            f"({type(settings).__name__} has no such setting)"
        )
    return dataclasses.replace(settings, **given)  # type: ignore[type-var]


def option_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, settings_type: type[Any]) -> None:
    """One ``--field-name`` argument per field of a settings dataclass whose type is a plain
    str, int, float or bool (bools as ``--x/--no-x``), defaulting to None: not given. The
    help shows the dataclass's default; ``with_options(settings_type(), **vars(args))`` (or
    ``options_for``) applies what was given."""
    hints = typing.get_type_hints(settings_type)
    for item in dataclasses.fields(settings_type):
        kind = _plain_type(hints[item.name])
        if kind is None:
            continue
        default = item.default if item.default is not dataclasses.MISSING else None
        help_text = f"default: {default}"
        if kind is bool:
            parser.add_argument(
                option_name(item.name),
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        else:
            parser.add_argument(option_name(item.name), type=kind, default=None, help=help_text)


def options_for(settings_type: type[Any], namespace: argparse.Namespace) -> dict[str, Any]:
    """The arguments of ``namespace`` that are fields of ``settings_type``."""
    names = {f.name for f in dataclasses.fields(settings_type)}
    return {name: value for name, value in vars(namespace).items() if name in names}


def _plain_type(hint: Any) -> type[Any] | None:
    """``int`` for ``int`` and ``int | None``; None for anything else."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0] if len(args) == 1 else None
    return hint if hint in (str, int, float, bool) else None
