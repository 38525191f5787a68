"""The interaction log: every request a service answers, in an embedded DuckDB file.

``polynlu serve MODEL --log DB`` records each request (time, session, text, locale, the
interpretation, its confidence, the latency, the model's version) and each piece of feedback
(``POST /v1/feedback``). ``polynlu learn`` reads the file back (``read_requests``).

Off the request path: ``InteractionLog.record`` puts a row on a queue and returns; one writer
thread inserts what has queued in a single statement, so a request pays a queue put, never a
disk write. ``close`` drains the queue, so a clean shutdown loses no row.

Privacy: session and request ids are stored as keyed hashes (HMAC-SHA-256; the key is made
when the file is created and kept in it), so the file never holds an id a client sent. With
``log_text=False`` the text is kept only as its hash, which still lets the learner tell that
two requests said the same thing. A keyed hash stops anyone from reading the ids or texts
off the file; it cannot stop someone holding the file from testing guesses against it.
``retention_days`` deletes older rows when the log opens and once a day after.

The schema is versioned (``SCHEMA_VERSION``, in the ``log_meta`` table): a file written by
another version is refused with what to do, never silently misread.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from polynlu.errors import PolynluError

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
Outcome = Literal["success", "failure", "abandoned"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_meta (key VARCHAR, value VARCHAR);
CREATE TABLE IF NOT EXISTS requests (
    request_id VARCHAR NOT NULL,  -- keyed hash of the id the service answered with
    time TIMESTAMPTZ NOT NULL,    -- when the service answered
    client_time TIMESTAMPTZ,      -- the client's timestamp, if it sent one
    session_id VARCHAR,           -- keyed hash of the client's session id, if it sent one
    text VARCHAR,                 -- as sent; null when the service runs with --no-log-text
    rewrite VARCHAR,              -- the learned rewrite parsed in its place, if any
    text_hash VARCHAR NOT NULL,   -- keyed hash of the text
    locale VARCHAR,
    intent VARCHAR NOT NULL,
    confidence DOUBLE NOT NULL,
    out_of_scope BOOLEAN NOT NULL,
    slots VARCHAR NOT NULL,       -- JSON list of {slot, value, start, end}
    latency_ms DOUBLE NOT NULL,
    model_version VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    request_id VARCHAR NOT NULL,  -- keyed hash, as in requests
    time TIMESTAMPTZ NOT NULL,
    outcome VARCHAR NOT NULL      -- success | failure | abandoned
);
"""
_REQUEST_COLUMNS = (
    "request_id", "time", "client_time", "session_id", "text", "rewrite", "text_hash", "locale",
    "intent", "confidence", "out_of_scope", "slots", "latency_ms", "model_version",
)  # fmt: skip
_FEEDBACK_COLUMNS = ("request_id", "time", "outcome")
_RETENTION_EVERY_S = 24 * 3600.0


@dataclass(frozen=True)
class LoggedRequest:
    """One answered request, as the service hands it to the log (ids still in the clear)."""

    request_id: str
    time: datetime
    text: str
    locale: str | None
    intent: str
    confidence: float
    out_of_scope: bool
    slots: Sequence[dict[str, Any]]
    latency_ms: float
    model_version: str
    session_id: str | None = None
    client_time: datetime | None = None
    rewrite: str | None = None
    """The learned rewrite the model read instead of ``text``, if any."""


@dataclass(frozen=True)
class Feedback:
    request_id: str
    time: datetime
    outcome: Outcome


@dataclass
class LogStats:
    """What the writer has done: for ``/metrics`` and for tests."""

    written: int = 0
    dropped: int = 0
    """Rows refused because the queue was full: the disk fell behind the traffic."""
    errors: int = 0
    last_error: str | None = field(default=None, repr=False)


class InteractionLog:
    """A DuckDB file that requests and feedback are written to by one background thread."""

    def __init__(
        self,
        path: str | Path,
        *,
        log_text: bool = True,
        retention_days: float | None = None,
        max_queue: int = 100_000,
        flush_every_s: float = 0.2,
    ) -> None:
        import duckdb

        self.path = Path(path)
        self.log_text = log_text
        self.retention_days = retention_days
        self.stats = LogStats()
        self._flush_every_s = flush_every_s
        self._queue: queue.Queue[LoggedRequest | Feedback | None] = queue.Queue(max_queue)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._connection = duckdb.connect(str(self.path))
        except duckdb.Error as error:
            raise PolynluError(f"cannot open the log {self.path}: {error}") from None
        self._key = _open_schema(self._connection, self.path)
        self._last_retention = 0.0
        self._apply_retention()
        self._thread = threading.Thread(target=self._write_loop, name="polynlu-log", daemon=True)
        self._thread.start()

    # The request path: hashing and a queue put, nothing else.
    def record(self, entry: LoggedRequest | Feedback) -> None:
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self.stats.dropped += 1

    def hash(self, value: str) -> str:
        """The keyed hash this log stores in place of ``value``."""
        return hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def close(self) -> None:
        """Write what is queued, then close the file."""
        if not self._thread.is_alive():
            return
        self._queue.put(None)
        self._thread.join()
        self._connection.close()

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            batch: list[LoggedRequest | Feedback] = []
            item = self._queue.get()
            stop = item is None
            if item is not None:
                batch.append(item)
            # Whatever else has queued goes into the same statement.
            while not stop:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                else:
                    batch.append(item)
            try:
                self._write(batch)
                self.stats.written += len(batch)
            except Exception as error:  # the log must never take the service down
                self.stats.errors += 1
                self.stats.last_error = str(error)
                logger.error(
                    "could not write %d log row(s) to %s: %s", len(batch), self.path, error
                )
            if time.monotonic() - self._last_retention > _RETENTION_EVERY_S:
                self._apply_retention()
            if not stop:
                time.sleep(self._flush_every_s)

    def _write(self, batch: list[LoggedRequest | Feedback]) -> None:
        requests = [self._request_row(e) for e in batch if isinstance(e, LoggedRequest)]
        feedback = [
            (self.hash(e.request_id), e.time, e.outcome) for e in batch if isinstance(e, Feedback)
        ]
        for table, columns, rows in (
            ("requests", _REQUEST_COLUMNS, requests),
            ("feedback", _FEEDBACK_COLUMNS, feedback),
        ):
            if rows:
                # One statement for the whole batch: DuckDB's executemany runs one statement a
                # row (about a millisecond each), unnest of column lists inserts thousands at once.
                selects = ", ".join(f"unnest(${n + 1}) AS {c}" for n, c in enumerate(columns))
                self._connection.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) SELECT {selects}",
                    [list(column) for column in zip(*rows, strict=True)],
                )

    def _request_row(self, entry: LoggedRequest) -> tuple[Any, ...]:
        return (
            self.hash(entry.request_id),
            entry.time,
            entry.client_time,
            self.hash(entry.session_id) if entry.session_id is not None else None,
            entry.text if self.log_text else None,
            entry.rewrite if self.log_text else None,
            self.hash(entry.text),
            entry.locale,
            entry.intent,
            entry.confidence,
            entry.out_of_scope,
            json.dumps(list(entry.slots), ensure_ascii=False),
            entry.latency_ms,
            entry.model_version,
        )

    def _apply_retention(self) -> None:
        self._last_retention = time.monotonic()
        if self.retention_days is None:
            return
        cutoff = datetime.now(timezone.utc) - timedelta(days=self.retention_days)
        for table in ("requests", "feedback"):
            self._connection.execute(f"DELETE FROM {table} WHERE time < ?", [cutoff])


def _open_schema(connection: Any, path: Path) -> bytes:
    """Create the tables in a new file, or check an existing file's version; the hash key."""
    connection.execute(_SCHEMA)
    meta = dict(connection.execute("SELECT key, value FROM log_meta").fetchall())
    if not meta:
        meta = {"schema_version": str(SCHEMA_VERSION), "hash_key": secrets.token_hex(32)}
        connection.execute(
            "INSERT INTO log_meta SELECT unnest($1), unnest($2)",
            [list(meta), list(meta.values())],
        )
    _check_version(meta, path)
    return bytes.fromhex(meta["hash_key"])


def read_requests(path: str | Path, *, since: datetime | None = None) -> list[dict[str, Any]]:
    """The logged requests, oldest first, with each one's latest feedback (or None)."""
    import duckdb

    path = Path(path)
    if not path.is_file():
        raise PolynluError(f"no interaction log at {path}")
    with duckdb.connect(str(path), read_only=True) as connection:
        _check_version(dict(connection.execute("SELECT key, value FROM log_meta").fetchall()), path)
        rows = connection.execute(
            """
            SELECT r.*, f.outcome
            FROM requests r
            LEFT JOIN (
                SELECT request_id, arg_max(outcome, time) AS outcome
                FROM feedback GROUP BY request_id
            ) f USING (request_id)
            WHERE ? IS NULL OR r.time >= ?
            ORDER BY r.time, r.rowid  -- a batch's requests share a time: insertion order
            """,
            [since, since],
        )
        columns = [description[0] for description in rows.description]
        return [dict(zip(columns, row, strict=True)) for row in rows.fetchall()]


def _check_version(meta: dict[str, str], path: Path) -> None:
    version = meta.get("schema_version")
    if version != str(SCHEMA_VERSION):
        raise PolynluError(
            f"{path} is an interaction log of schema version {version}; this polynlu reads "
            f"and writes version {SCHEMA_VERSION}: log to a new file"
        )


__all__ = [
    "SCHEMA_VERSION",
    "Feedback",
    "InteractionLog",
    "LogStats",
    "LoggedRequest",
    "Outcome",
    "read_requests",
]
