from __future__ import annotations

import pytest

from polynlu.text.batches import map_by_length


def test_batches_hold_similar_lengths_and_results_keep_the_callers_order() -> None:
    words = ["a", "abcdef", "ab", "abcdefgh", "abc", "abcd", "abcdefg", "abcde"]
    seen: list[list[str]] = []
    progress: list[int] = []

    def shout(batch: list[str]) -> list[str]:
        seen.append(batch)
        return [word.upper() for word in batch]

    results = map_by_length(words, shout, length=len, batch_size=3, advance=progress.append)
    assert results == [word.upper() for word in words]
    assert seen == [["a", "ab", "abc"], ["abcd", "abcde", "abcdef"], ["abcdefg", "abcdefgh"]]
    assert progress == [3, 3, 2]


def test_a_batch_answered_with_too_few_results_is_an_error() -> None:
    with pytest.raises(ValueError, match="1 results for a batch of 2"):
        map_by_length(["a", "b"], lambda batch: batch[:1], length=len, batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        map_by_length(["a"], lambda batch: batch, length=len, batch_size=0)
