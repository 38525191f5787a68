"""Errors that polynlu raises on purpose.

Every error a user can cause (a bad file, a missing partition, an unknown locale) is a
``PolynluError``: the CLI prints its message and exits with status 2 instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path


class PolynluError(Exception):
    """Base class for errors caused by the input or the environment, not by a bug."""


class CannotLearnError(PolynluError):
    """The model cannot take examples without retraining (its kind, or its age): the
    request was fine, the model is not."""


class DataError(PolynluError):
    """A data row that cannot be read faithfully: says where it is and what is wrong."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        row_id: str | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.row_id = row_id
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file if self.line is None else f"{self.file}:{self.line}")
        if self.row_id is not None:
            where.append(f"id={self.row_id}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason

    def located(self, *, file: str | Path, line: int, row_id: str | None = None) -> DataError:
        """The same error with its position in a file filled in."""
        return DataError(
            self.reason,
            file=file,
            line=line,
            row_id=row_id if row_id is not None else self.row_id,
            field=self.field,
        )


class MissingPartitionError(PolynluError):
    """A requested partition (for instance MASSIVE's withheld ``test``) is not in the data."""
