"""``run_server``: the uvicorn process(es) behind ``polynlu serve``; ``serve_in_background``:
that command in a child process, for tests, benchmarks and scripts.

Each worker builds its own app (and loads its own model) from ``ServeSettings`` passed in an
environment variable, since uvicorn starts workers as fresh processes.
"""

from __future__ import annotations

import copy
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process

from polynlu.errors import PolynluError
from polynlu.serving.protocol import PROTOCOL_PATH
from polynlu.serving.settings import SETTINGS_ENVIRONMENT, ServeSettings

APP_FACTORY = "polynlu.serving.app:app_from_environment"
STARTUP_FAILURE = 3  # uvicorn's own exit status for this
FD_HEADROOM = 64
"""File descriptors kept free beyond the connection cap and two accept bursts: the model, the
logs, the listener."""

logger = logging.getLogger(__name__)


class RepeatFilter(logging.Filter):
    """Lets the first of a run of identical log messages through, then one line a
    ``interval`` seconds saying how many were held back, so that a flood of one error (a
    process out of file descriptors logs one per accept) cannot fill a disk."""

    def __init__(self, interval: float = 10.0) -> None:
        super().__init__()
        self.interval = interval
        self.last: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        # The first line only: asyncio's messages go on with addresses and timer deadlines.
        key = (record.name, str(record.msg).split("\n", 1)[0][:100])
        now = time.monotonic()
        seen, held = self.last.get(key, (-self.interval, 0))
        if now - seen < self.interval:
            self.last[key] = (seen, held + 1)
            return False
        if held:
            record.msg = f"{record.msg} (and {held} more like it in {now - seen:.0f} s)"
        self.last[key] = (now, 0)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with ``RepeatFilter`` on its handlers and asyncio's errors (accept
    failures) routed through them rather than printed with a traceback each."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"repeats": {"()": f"{__name__}.RepeatFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["repeats"]
    config["loggers"]["asyncio"] = {"handlers": ["default"], "level": "WARNING", "propagate": False}
    return config


def usable_file_descriptors() -> int | None:
    """Raise this process's soft limit on open files to its hard limit (workers inherit it);
    the limit now, or None where the platform has none."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return soft


def run_server(
    settings: ServeSettings, *, host: str, port: int, workers: int, log_level: str
) -> None:
    descriptors = usable_file_descriptors()
    # asyncio accepts up to `backlog` connections in one go, and the sockets of those the cap
    # closes are released only on the next turn of the loop; and on running out of
    # descriptors, CPython 3.11 goes on trying for the rest of the burst, scheduling a retry
    # each time. So the burst is sized to the descriptors, and two bursts are kept free.
    backlog = 2048 if descriptors is None else max(16, min(2048, descriptors // 8))
    headroom = FD_HEADROOM + 2 * backlog
    if descriptors is not None and settings.max_connections > descriptors - headroom:
        capped = max(1, descriptors - headroom)
        logger.warning(
            "max_connections %d is over this process's %d file descriptors; using %d",
            settings.max_connections,
            descriptors,
            capped,
        )
        settings = replace(settings, max_connections=capped)
    os.environ[SETTINGS_ENVIRONMENT] = settings.to_environment()
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=log_config(),
        http=PROTOCOL_PATH,
        backlog=backlog,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout_s)),
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
    PatientMultiprocess(config, sockets=[listener]).run()


class PatientMultiprocess(Multiprocess):
    """uvicorn's worker supervisor, with exponential backoff between restarts of a worker
    that keeps dying (1 s, 2 s, … 60 s; back to 1 s once one has lived a minute), so that a
    broken worker is not respawned every few seconds forever."""

    FIRST_DELAY = 1.0
    LONGEST_DELAY = 60.0
    STABLE_AFTER = 60.0

    def init_processes(self) -> None:
        super().init_processes()
        now = time.monotonic()
        self.started_at = [now] * len(self.processes)
        self.delays = [0.0] * len(self.processes)
        self.restart_at: list[float | None] = [None] * len(self.processes)

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for index, process in enumerate(self.processes):
            if self.restart_at[index] is None:
                if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                    continue
                process.kill()
                process.join()
                if process.exitcode == STARTUP_FAILURE and self.delays[index] == 0.0:
                    logger.error("Worker [%s] failed to start; stopping.", process.pid)
                    self.should_exit.set()
                    return
                lived = time.monotonic() - self.started_at[index]
                delay = (
                    self.FIRST_DELAY
                    if lived > self.STABLE_AFTER or not self.delays[index]
                    else min(self.delays[index] * 2, self.LONGEST_DELAY)
                )
                self.delays[index] = delay
                self.restart_at[index] = time.monotonic() + delay
                logger.warning(
                    "Worker [%s] died (exit status %s); restarting it in %.0f s",
                    process.pid,
                    process.exitcode,
                    delay,
                )
            restart_at = self.restart_at[index]
            if restart_at is not None and time.monotonic() >= restart_at:
                replacement = Process(self.config, self.sockets)
                replacement.start()
                self.processes[index] = replacement
                self.started_at[index] = time.monotonic()
                self.restart_at[index] = None


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
