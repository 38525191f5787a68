"""The rewrite table: learned from the chain, saved as JSON, found however the utterance is
written, and refused where it cannot work."""

import json
from pathlib import Path

import pytest

from polynlu.errors import PolynluError
from polynlu.learning.markov import FAILURE, SUCCESS, AbsorbingChain, count_transitions
from polynlu.learning.rewrites import REWRITES_FILE, RewriteTable


def test_a_learned_table_round_trips_and_matches_any_spelling(tmp_path: Path) -> None:
    chain = AbsorbingChain(
        count_transitions(
            [["play lotr", "play the lord of the rings soundtrack", SUCCESS]] * 2
            + [["play lotr", FAILURE]]
        )
    )
    rewrite = chain.best_rewrite("play lotr")
    assert rewrite is not None
    table = RewriteTable.from_rewrites([rewrite])
    path = table.save(tmp_path)
    assert json.loads(path.read_text())["rewrites"][0]["support"] == 2
    loaded = RewriteTable.load(tmp_path)
    assert loaded == table and len(loaded) == 1
    found = loaded.lookup("Play  LOTR!")
    assert found is not None and found.target == "play the lord of the rings soundtrack"
    assert loaded.lookup("play lotr music") is None


def test_hashed_states_and_foreign_files_are_refused(tmp_path: Path) -> None:
    chain = AbsorbingChain(count_transitions([["#a", "#b", SUCCESS], ["#a", FAILURE]]))
    rewrite = chain.best_rewrite("#a")
    assert rewrite is not None
    with pytest.raises(PolynluError, match="--no-log-text"):
        RewriteTable.from_rewrites([rewrite])
    (tmp_path / REWRITES_FILE).write_text('{"format": "something else"}')
    with pytest.raises(PolynluError, match="not a polynlu rewrite table"):
        RewriteTable.load(tmp_path)
