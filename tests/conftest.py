from __future__ import annotations

from pathlib import Path

import pytest

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
