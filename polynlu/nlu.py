"""``NLU``: the public face of a trained model, whatever its kind."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from polynlu.errors import PolynluError
from polynlu.models.base import NLUModel, load_model
from polynlu.types import Interpretation


class NLU:
    """Load a saved model and parse utterances.

    >>> nlu = NLU.load("runs/baseline")                             # doctest: +SKIP
    >>> nlu.parse("wake me up at five am", locale="en-US").intent   # doctest: +SKIP
    'alarm_set'
    """

    def __init__(self, model: NLUModel) -> None:
        self.model = model

    @classmethod
    def load(cls, folder: str | Path) -> NLU:
        return cls(load_model(folder))

    def save(self, folder: str | Path) -> None:
        self.model.save(Path(folder))

    def parse(self, text: str, locale: str | None = None) -> Interpretation:
        return self.parse_batch([text], [locale])[0]

    def parse_batch(
        self,
        texts: Sequence[str],
        locales: Sequence[str | None] | None = None,
        *,
        batch_size: int = 256,
    ) -> list[Interpretation]:
        if isinstance(texts, str):
            raise TypeError("parse_batch takes a sequence of texts; use parse for one text")
        chosen: Sequence[str | None] = locales if locales is not None else [None] * len(texts)
        if len(chosen) != len(texts):
            raise PolynluError(f"{len(texts)} texts but {len(chosen)} locales")
        results: list[Interpretation] = []
        for start in range(0, len(texts), batch_size):
            results.extend(
                self.model.predict(
                    texts[start : start + batch_size], chosen[start : start + batch_size]
                )
            )
        return results
