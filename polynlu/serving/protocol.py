"""uvicorn's h11 protocol, guarded against clients that hold connections open.

- **A deadline for the request head.** A connection must deliver a whole request line and
  headers within ``header_timeout_s`` of opening (or of starting its next request); otherwise
  it gets a 408 problem and is closed. uvicorn has no such timeout: a client that sends
  ``GET / HTTP/1.1\\r\\n`` and stops would hold its socket, and a file descriptor, forever.
- **A connection cap.** Past ``max_connections`` open connections in this worker, a new one is
  answered 503 with a problem document and closed at once, before the process runs out of
  file descriptors.
- **Problem documents for protocol errors.** uvicorn answers a malformed request with a
  text/plain 400; here it is ``application/problem+json``, as every other refusal.

``polynlu serve`` names this class to uvicorn by its import path, so every worker process
builds it and reads its limits from the ``ServeSettings`` in its environment.
"""

from __future__ import annotations

import asyncio
import json
from functools import cache
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from polynlu.serving.settings import ServeSettings

PROTOCOL_PATH = "polynlu.serving.protocol:GuardedH11Protocol"


@cache
def _settings() -> ServeSettings:
    return ServeSettings.from_environment()


def problem_bytes(status: int, reason: str, detail: str) -> bytes:
    """A whole HTTP/1.1 response carrying a problem document, for the protocol level, where
    no request may have been parsed (so h11 cannot be asked to frame it)."""
    body = json.dumps(
        {
            "type": "about:blank",
            "title": reason,
            "status": status,
            "detail": detail,
            "errors": [{"field": "request", "message": detail}],
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedH11Protocol(H11Protocol):
    settings: ServeSettings | None = None
    """Set by tests that build the protocol in-process; else read from the environment."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = self.settings or _settings()
        self.head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            transport.write(
                problem_bytes(
                    503,
                    "Service Unavailable",
                    f"this worker holds its limit of {self.limits.max_connections:,} "
                    "connections; retry shortly",
                )
            )
            transport.close()
            return
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and self.head_deadline is None:
            self._arm_head_deadline()  # a keep-alive connection starts its next request
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm_head_deadline()  # the head is in; the body has its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm_head_deadline()  # keep-alive's own timeout covers the idle wait

    def send_400_response(self, msg: str) -> None:
        self.transport.write(problem_bytes(400, "Bad Request", "invalid HTTP request"))
        self.transport.close()

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self.head_deadline = self.loop.call_later(
            self.limits.header_timeout_s, self._on_head_timeout
        )

    def _disarm_head_deadline(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _on_head_timeout(self) -> None:
        self.head_deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        detail = f"no complete request head within {self.limits.header_timeout_s:g} s"
        self.transport.write(problem_bytes(408, "Request Timeout", detail))
        self.transport.close()
