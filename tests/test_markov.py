"""The absorbing Markov chain over utterances: absorption probabilities worked by hand, and the
rewrite it picks for an utterance that fails."""

import pytest

from polynlu.learning.markov import (
    FAILURE,
    SUCCESS,
    AbsorbingChain,
    Rewrite,
    count_transitions,
)


def test_absorption_probabilities_match_a_chain_worked_by_hand() -> None:
    # "play lotr" is left 7 times: 3 times to failure, 3 times rephrased as "play the lord
    # of the rings soundtrack" (which always works), once as "play lotr music" (which works
    # half the time, and otherwise goes back to "play lotr", which then fails).
    sessions = (
        [["play lotr", FAILURE]] * 2
        + [["play lotr", "play the lord of the rings soundtrack", SUCCESS]] * 3
        + [["play lotr", "play lotr music", SUCCESS]]
        + [["play lotr music", "play lotr", FAILURE]]
    )
    chain = AbsorbingChain(count_transitions(sessions))
    # m = ½·1 + ½·p and p = 3/7·0 + 3/7·1 + 1/7·m  ⇒  p = (3/7 + 1/14) / (1 − 1/14) = 7/13.
    lotr = 7 / 13
    assert chain.success_probability("play lotr") == pytest.approx(lotr)
    assert chain.success_probability("play lotr music") == pytest.approx((1 + lotr) / 2)
    assert chain.success_probability("play the lord of the rings soundtrack") == 1.0
    assert chain.best_rewrite("play lotr") == Rewrite(
        "play lotr", "play the lord of the rings soundtrack", 1.0, 3
    )
    # Asking for more support than any rephrase has leaves the utterance alone.
    assert chain.best_rewrite("play lotr", min_support=4) is None


def test_no_rewrite_for_an_utterance_that_does_better_than_its_rephrases() -> None:
    sessions = [["set an alarm", SUCCESS]] * 9 + [["set an alarm", "alarm please", FAILURE]]
    chain = AbsorbingChain(count_transitions(sessions))
    assert chain.success_probability("set an alarm") == pytest.approx(0.9)
    assert chain.best_rewrite("set an alarm") is None


def test_sessions_must_end_in_an_absorbing_state() -> None:
    with pytest.raises(ValueError, match="must end in"):
        count_transitions([["hello"]])
    with pytest.raises(ValueError, match="inside a session"):
        count_transitions([["hello", SUCCESS, "again", FAILURE]])
