from __future__ import annotations

import io

from rich.console import Console
from rich.progress import MofNCompleteColumn, TextColumn

from polynlu.progress import LoggedProgress


def log_of(every: float, terminal: bool) -> str:
    sink = io.StringIO()
    console = Console(file=sink, force_terminal=terminal, width=80)
    columns = (TextColumn("Epoch 1/3"), MofNCompleteColumn())
    with LoggedProgress(*columns, console=console, every=every, transient=True) as bar:
        task = bar.add_task("train", total=4)
        for _ in range(4):
            bar.advance(task)
    return sink.getvalue()


def test_a_log_gets_the_progress_as_plain_lines() -> None:
    assert log_of(every=0.0, terminal=False).split() == [
        "Epoch", "1/3", "1/4", "Epoch", "1/3", "2/4", "Epoch", "1/3", "3/4", "Epoch", "1/3", "4/4",
    ]  # fmt: skip
    # A long interval still reports the end, once.
    assert log_of(every=3600.0, terminal=False).split() == ["Epoch", "1/3", "4/4"]


def test_a_terminal_gets_only_the_live_bar() -> None:
    drawn = log_of(every=0.0, terminal=True)
    assert "Epoch 1/3" in drawn  # the live bar, at its start and its end
    assert "2/4" not in drawn and "3/4" not in drawn  # no log lines in between
