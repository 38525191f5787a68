"""uvicorn's h11 protocol, guarded against clients that hold connections open.

- **A deadline for the request head.** A connection must deliver a whole request line and
  headers within ``header_timeout_s`` of opening (or of starting its next request); otherwise
  it gets a 408 problem and is closed. uvicorn has no such timeout: a client that sends
  ``GET / HTTP/1.1\\r\\n`` and stops would hold its socket, and a file descriptor, forever.
- **A connection cap that evicts idlers first.** At ``max_connections`` open connections in
  this worker, a new one makes room by closing a connection that is not in the middle of a
  request, with a 408: the oldest that never completed a request (what a stalling client
  looks like), else the oldest idle between keep-alive requests. Only when every connection
  is busy with a request is the newcomer refused, with a 503.
  So clients that open connections and send nothing cannot lock out clients that send
  requests, and the process never runs out of file descriptors.
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
        self.opened_at = 0.0
        self.answered = 0
        """Responses completed on this connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.opened_at = self.loop.time()
        if len(self.connections) > self.limits.max_connections:
            idlers = [
                other
                for other in self.connections
                if isinstance(other, GuardedH11Protocol) and other is not self and other.idle
            ]
            if idlers:
                # Connections that never completed a request go first (that is what a
                # stalling client looks like), the oldest of them; proven ones last.
                victim = min(idlers, key=lambda other: (other.answered > 0, other.opened_at))
                victim.close_with(
                    408,
                    "Request Timeout",
                    "closed to make room: the server is at its connection limit and this "
                    "connection had no request under way",
                )
            else:
                self.close_with(
                    503,
                    "Service Unavailable",
                    f"this worker holds its limit of {self.limits.max_connections:,} "
                    "connections, all with requests under way; retry shortly",
                )
                return
        self._arm_head_deadline()

    @property
    def idle(self) -> bool:
        """No request under way: waiting for a head, or between keep-alive requests."""
        return (
            not self.transport.is_closing()
            and self.conn.their_state is h11.IDLE
            and (self.cycle is None or self.cycle.response_complete)
        )

    def close_with(self, status: int, reason: str, detail: str) -> None:
        self._disarm_head_deadline()
        self.transport.write(problem_bytes(status, reason, detail))
        self.transport.close()

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
        self.answered += 1
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
        self.close_with(408, "Request Timeout", detail)
