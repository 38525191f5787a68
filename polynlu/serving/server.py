"""``run_server``: the uvicorn process(es) behind ``polynlu serve``; ``serve_in_background``:
that command in a child process, for tests, benchmarks and scripts.

Each worker builds its own app (and loads its own model) from ``ServeSettings`` passed in an
environment variable, since uvicorn starts workers as fresh processes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

from polynlu.errors import PolynluError
from polynlu.serving.settings import SETTINGS_ENVIRONMENT, ServeSettings

APP_FACTORY = "polynlu.serving.app:app_from_environment"
STARTUP_FAILURE = 3  # uvicorn's own exit status for this


def run_server(
    settings: ServeSettings, *, host: str, port: int, workers: int, log_level: str
) -> None:
    os.environ[SETTINGS_ENVIRONMENT] = settings.to_environment()
    config = uvicorn.Config(
        APP_FACTORY, factory=True, host=host, port=port, workers=workers, log_level=log_level
    )
    if workers == 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:  # the port was taken, or the app failed to start (logged)
            raise SystemExit(STARTUP_FAILURE)
        return
    # uvicorn binds the socket its workers share with proto 0, so asyncio does not set
    # TCP_NODELAY on the connections it accepts, and every keep-alive request after the first
    # waits ~40 ms for the client's delayed ACK (uvicorn issue #3149; a test checks keep-alive
    # latency with workers). Rebuilding the socket object with IPPROTO_TCP restores it.
    bound = config.bind_socket()
    listener = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    listener.set_inheritable(True)
    Multiprocess(config, sockets=[listener]).run()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve_in_background(
    model: Path, *options: str, timeout: float = 120.0, quiet: bool = True
) -> Iterator[str]:
    """``polynlu serve MODEL [OPTIONS]`` on a free local port in a child process; yields its
    URL once ``/v1/health`` answers, and stops the server on exit. ``quiet`` discards its
    output."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(
        [sys.executable, "-m", "polynlu", "serve", str(model), "--port", str(port), *options],
        stdout=output,
        stderr=output,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:  # urllib rather than httpx, which the base install does not have
                with urllib.request.urlopen(f"{url}/v1/health", timeout=1):
                    break
            except OSError:  # refused, reset or an HTTP error (urllib.error.URLError)
                if process.poll() is not None or time.monotonic() > deadline:
                    raise PolynluError(
                        f"polynlu serve {model} did not answer on {url} within {timeout:.0f} s"
                        f" (exit status {process.poll()})"
                    ) from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
