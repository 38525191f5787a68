from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path

import pytest

from polynlu.serving.server import serve_in_background

TINY = Path(__file__).parent / "data" / "massive-tiny"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own polynlu cache, so none reads or writes the user's."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("POLYNLU_CACHE", str(cache))
    return cache


@pytest.fixture
def tiny_data() -> Path:
    return TINY


@pytest.fixture
def serve_command() -> Callable[..., AbstractContextManager[str]]:
    """`polynlu serve MODEL [OPTIONS]` in its own process, as a context manager yielding its URL."""
    return partial(serve_in_background, timeout=60.0)
