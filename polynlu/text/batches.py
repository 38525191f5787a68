"""Batches of similar length: a padded model call costs as much as its longest row, so
sorting by length before batching is the cheapest speed-up there is (parsing, evaluation,
scoring with a teacher). Results come back in the caller's order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_by_length(
    items: Sequence[Item],
    process: Callable[[list[Item]], Sequence[Result]],
    *,
    length: Callable[[Item], int],
    batch_size: int,
    advance: Callable[[int], object] | None = None,
) -> list[Result]:
    """``process`` over batches of items of similar ``length``: one result per item, in the
    items' order. ``advance(n)`` is called after each batch (a progress bar's, say)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    order = sorted(range(len(items)), key=lambda i: length(items[i]))
    found: dict[int, Result] = {}
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        results = process([items[i] for i in chosen])
        if len(results) != len(chosen):
            raise ValueError(f"{len(results)} results for a batch of {len(chosen)}")
        for index, result in zip(chosen, results, strict=True):
            found[index] = result
        if advance is not None:
            advance(len(chosen))
    return [found[index] for index in range(len(items))]
