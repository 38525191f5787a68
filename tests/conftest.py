from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_serve_command(model: Path, *options: str) -> Iterator[str]:
    """`polynlu serve MODEL [OPTIONS]` in its own process; yields its URL once /v1/health
    answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "polynlu", "serve", str(model), "--port", str(port), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/v1/health", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError("polynlu serve did not answer") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def serve_command() -> Callable[..., AbstractContextManager[str]]:
    return running_serve_command
