"""What the assistant remembers between requests, in one embedded DuckDB file: alarms, timers
and reminders, lists, and the simulated home's lights and plugs.

DuckDB, as the interaction log uses (``learning.log``): one file, no server, SQL for the
skills' questions ("the alarms after now, in order"). One connection, used under a lock, so a
service's threads never interleave a skill's read and write.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE IF NOT EXISTS alarm_ids;
CREATE TABLE IF NOT EXISTS alarms (
    id BIGINT PRIMARY KEY DEFAULT nextval('alarm_ids'),
    kind VARCHAR NOT NULL,          -- alarm | timer | reminder
    due TIMESTAMP NOT NULL,
    label VARCHAR,
    created TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS lists (name VARCHAR PRIMARY KEY, created TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS list_items (
    list VARCHAR NOT NULL, item VARCHAR NOT NULL, added TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS lights (
    room VARCHAR PRIMARY KEY, is_on BOOLEAN NOT NULL, brightness INTEGER NOT NULL,
    colour VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS plugs (device VARCHAR PRIMARY KEY, is_on BOOLEAN NOT NULL);
"""
DEFAULT_ROOMS = ("living room", "kitchen", "bedroom", "bathroom", "hall")


@dataclass(frozen=True)
class Alarm:
    id: int
    kind: str
    at: datetime
    label: str | None


@dataclass(frozen=True)
class Light:
    room: str
    is_on: bool
    brightness: int
    colour: str


class AssistantState:
    """``AssistantState(path)`` (or ``":memory:"``): the skills' tables, created on first use."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        import duckdb

        self.path = str(path)
        self._db = duckdb.connect(self.path)
        self._lock = threading.RLock()
        with self.transaction() as db:
            db.execute(_SCHEMA)
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )
            if not db.execute("SELECT count(*) FROM lights").fetchone()[0]:
                db.executemany(
                    "INSERT INTO lights VALUES (?, false, 100, 'white')",
                    [[room] for room in DEFAULT_ROOMS],
                )

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            result: list[tuple[Any, ...]] = self._db.execute(sql, list(parameters)).fetchall()
            return result

    # alarms, timers, reminders
    def add_alarm(self, kind: str, at: datetime, label: str | None, now: datetime) -> Alarm:
        with self.transaction() as db:
            [alarm_id] = db.execute(
                "INSERT INTO alarms (kind, due, label, created) VALUES (?, ?, ?, ?) RETURNING id",
                [kind, at, label, now],
            ).fetchone()
        return Alarm(alarm_id, kind, at, label)

    def alarms(self, kinds: Sequence[str], after: datetime) -> list[Alarm]:
        marks = ", ".join("?" for _ in kinds)
        return [
            Alarm(*row)
            for row in self.rows(
                f"SELECT id, kind, due, label FROM alarms WHERE kind IN ({marks}) AND due >= ? "
                "ORDER BY due, id",
                [*kinds, after],
            )
        ]

    def remove_alarms(self, ids: Sequence[int]) -> int:
        if not ids:
            return 0
        with self.transaction() as db:
            db.execute(f"DELETE FROM alarms WHERE id IN ({', '.join('?' for _ in ids)})", list(ids))
        return len(ids)

    # lists
    def list_names(self) -> list[str]:
        return [name for (name,) in self.rows("SELECT name FROM lists ORDER BY created, name")]

    def create_list(self, name: str, now: datetime) -> bool:
        """True when the list is new."""
        with self.transaction() as db:
            return _create_list(db, name, now)

    def add_item(self, name: str, item: str, now: datetime) -> None:
        """Add ``item`` to the list, creating the list if need be, in one transaction."""
        with self.transaction() as db:
            _create_list(db, name, now)
            db.execute("INSERT INTO list_items VALUES (?, ?, ?)", [name, item, now])

    def items(self, name: str) -> list[str]:
        return [
            item
            for (item,) in self.rows(
                "SELECT item FROM list_items WHERE list = ? ORDER BY added", [name]
            )
        ]

    def remove_item(self, name: str, item: str) -> int:
        with self.transaction() as db:
            found = db.execute(
                "SELECT count(*) FROM list_items WHERE list = ? AND lower(item) = lower(?)",
                [name, item],
            ).fetchone()[0]
            db.execute(
                "DELETE FROM list_items WHERE list = ? AND lower(item) = lower(?)", [name, item]
            )
        return int(found)

    def delete_list(self, name: str) -> bool:
        with self.transaction() as db:
            exists = db.execute("SELECT 1 FROM lists WHERE name = ?", [name]).fetchone()
            db.execute("DELETE FROM list_items WHERE list = ?", [name])
            db.execute("DELETE FROM lists WHERE name = ?", [name])
        return exists is not None

    # the simulated home
    def lights(self) -> list[Light]:
        return [Light(*row) for row in self.rows("SELECT * FROM lights ORDER BY room")]

    def set_lights(
        self,
        rooms: Sequence[str],
        *,
        is_on: bool | None = None,
        brightness: int | None = None,
        colour: str | None = None,
    ) -> list[Light]:
        """Change the rooms' lights (a room not seen before is added); the lights after."""
        with self.transaction() as db:
            for room in rooms:
                db.execute(
                    "INSERT INTO lights VALUES (?, false, 100, 'white') ON CONFLICT DO NOTHING",
                    [room],
                )
                if is_on is not None:
                    db.execute("UPDATE lights SET is_on = ? WHERE room = ?", [is_on, room])
                if brightness is not None:
                    db.execute(
                        "UPDATE lights SET brightness = ?, is_on = ? WHERE room = ?",
                        [brightness, brightness > 0, room],
                    )
                if colour is not None:
                    db.execute(
                        "UPDATE lights SET colour = ?, is_on = true WHERE room = ?", [colour, room]
                    )
        return [light for light in self.lights() if light.room in rooms]

    def set_plug(self, device: str, is_on: bool) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO plugs VALUES (?, ?)", [device, is_on])

    def plugs(self) -> dict[str, bool]:
        return dict(self.rows("SELECT device, is_on FROM plugs ORDER BY device"))

    def snapshot(self, now: datetime) -> dict[str, Any]:
        """Everything, as plain JSON-able values: the web page's state panel."""
        return {
            "alarms": [
                {
                    "id": a.id,
                    "kind": a.kind,
                    "at": a.at.isoformat(timespec="minutes"),
                    "label": a.label,
                }
                for a in self.alarms(("alarm", "timer", "reminder"), now)
            ],
            "lists": {name: self.items(name) for name in self.list_names()},
            "lights": [vars(light) for light in self.lights()],
            "plugs": self.plugs(),
        }

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _create_list(db: Any, name: str, now: datetime) -> bool:
    """Inside a transaction: create the list unless it exists; True when it is new."""
    exists = db.execute("SELECT 1 FROM lists WHERE name = ?", [name]).fetchone()
    if not exists:
        db.execute("INSERT INTO lists VALUES (?, ?)", [name, now])
    return not exists
