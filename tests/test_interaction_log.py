"""The interaction log: requests and feedback recorded off the request path into DuckDB, with
hashed ids, optional text, retention and a versioned schema; and a real server writing it."""

import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import httpx
import pytest
from support import LiveServer

from polynlu.errors import PolynluError
from polynlu.learning.log import (
    Feedback,
    InteractionLog,
    LoggedRequest,
    read_requests,
)
from polynlu.learning.markov import Rewrite
from polynlu.learning.rewrites import RewriteTable
from polynlu.models.joint import JointModel
from polynlu.serving import ServeSettings

NOW = datetime.now(timezone.utc)


def request(number: int, *, when: datetime = NOW, session: str | None = "alice") -> LoggedRequest:
    return LoggedRequest(
        request_id=f"request-{number}",
        time=when + timedelta(milliseconds=number),
        text=f"wake me up at {number} am",
        locale="en-US",
        intent="alarm_set",
        confidence=0.875,
        out_of_scope=False,
        slots=[{"slot": "time", "value": f"{number} am", "start": 14, "end": 18}],
        latency_ms=2.5,
        model_version="v1",
        session_id=session,
    )


def test_every_row_queued_before_close_is_written_and_read_back(tmp_path: Path) -> None:
    log = InteractionLog(tmp_path / "log.duckdb")
    record_seconds = []
    for number in range(5_000):
        started = time.perf_counter()
        log.record(request(number))
        record_seconds.append(time.perf_counter() - started)
    log.record(Feedback("request-7", NOW, "failure"))
    log.record(Feedback("request-7", NOW + timedelta(seconds=1), "success"))  # the latest counts
    log.close()  # straight after the last record: nothing may be lost
    assert log.stats.written == 5_002 and log.stats.dropped == log.stats.errors == 0
    # Recording is a queue put: far under the millisecond a request may pay at p99.
    assert sorted(record_seconds)[int(0.99 * len(record_seconds))] < 0.001

    rows = read_requests(tmp_path / "log.duckdb")
    assert len(rows) == 5_000
    assert [row["text"] for row in rows[:2]] == ["wake me up at 0 am", "wake me up at 1 am"]
    assert rows[7]["outcome"] == "success" and rows[8]["outcome"] is None
    assert rows[3]["slots"] == '[{"slot": "time", "value": "3 am", "start": 14, "end": 18}]'
    assert rows[3]["intent"] == "alarm_set" and rows[3]["confidence"] == 0.875
    # Ids are keyed hashes: the same id hashes alike, and the clear id is nowhere in the file.
    assert rows[0]["session_id"] == rows[1]["session_id"] != "alice"
    assert rows[0]["request_id"] != "request-0"
    assert b"alice" not in (tmp_path / "log.duckdb").read_bytes()


def test_without_text_only_its_hash_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "log.duckdb"
    log = InteractionLog(path, log_text=False)
    log.record(request(1, session=None))
    log.record(request(1, session=None))
    log.close()
    first, second = read_requests(path)
    assert first["text"] is None and first["session_id"] is None
    assert first["text_hash"] == second["text_hash"]  # the learner can still tell repeats apart
    assert b"wake me up" not in path.read_bytes()


def test_retention_deletes_old_rows_when_the_log_opens(tmp_path: Path) -> None:
    path = tmp_path / "log.duckdb"
    log = InteractionLog(path)
    log.record(request(1, when=NOW - timedelta(days=10)))
    log.record(request(2))
    log.close()
    InteractionLog(path, retention_days=7).close()
    assert [row["text"] for row in read_requests(path)] == ["wake me up at 2 am"]


def test_a_log_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.duckdb"
    InteractionLog(path).close()
    with duckdb.connect(str(path)) as connection:
        connection.execute("UPDATE log_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(PolynluError, match="schema version 99"):
        InteractionLog(path)
    with pytest.raises(PolynluError, match="schema version 99"):
        read_requests(path)


@pytest.mark.slow
def test_a_logging_server_records_requests_and_feedback(
    tiny_joint: tuple[JointModel, Path], tmp_path: Path
) -> None:
    path = tmp_path / "traffic.duckdb"
    settings = ServeSettings(model=str(tiny_joint[1]), log=str(path), detect_language=False)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        one = client.post(
            "/v1/parse",
            json={
                "text": "wake me up at five am",
                "locale": "en-US",
                "session_id": "session-1",
                "timestamp": "2026-11-25T08:00:00+01:00",
            },
        ).json()
        batch = client.post(
            "/v1/parse/batch",
            json={"items": [{"text": "what time is it", "locale": "en-US"}] * 2},
        ).json()["items"]
        ids = [one["request_id"], *(item["request_id"] for item in batch)]
        assert len(set(ids)) == 3
        told = client.post("/v1/feedback", json={"request_id": ids[0], "outcome": "failure"})
        assert told.status_code == 202 and told.json()["outcome"] == "failure"
        bad = client.post("/v1/feedback", json={"request_id": ids[0], "outcome": "meh"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "outcome"
    rows = read_requests(path)  # the server has stopped: everything is in the file
    assert [row["text"] for row in rows] == ["wake me up at five am", *["what time is it"] * 2]
    assert rows[0]["outcome"] == "failure" and rows[1]["outcome"] is None
    assert rows[0]["intent"] == one["intent"]
    assert rows[0]["model_version"] == one["model"]["version"]
    assert rows[0]["client_time"] == datetime(2026, 11, 25, 7, tzinfo=timezone.utc)
    assert rows[0]["session_id"] is not None and rows[1]["session_id"] is None


@pytest.mark.slow
def test_feedback_needs_a_log(tiny_joint: tuple[JointModel, Path]) -> None:
    settings = ServeSettings(model=str(tiny_joint[1]), detect_language=False)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.post("/v1/feedback", json={"request_id": "x", "outcome": "success"})
    assert response.status_code == 403 and "--log" in response.json()["detail"]


@pytest.mark.slow
def test_a_learned_rewrite_is_parsed_in_place_of_the_text_and_logged(
    tiny_joint: tuple[JointModel, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_joint[1], folder)
    RewriteTable.from_rewrites(
        [Rewrite("wake me at five", "set an alarm for five am", probability=0.9, support=4)]
    ).save(folder)
    path = tmp_path / "traffic.duckdb"
    settings = ServeSettings(model=str(folder), log=str(path), detect_language=False)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        rewritten = client.post("/v1/parse", json={"text": "Wake me at five!", "locale": "en-US"})
        plain = client.post("/v1/parse", json={"text": "wake me up at six", "locale": "en-US"})
    assert rewritten.json()["rewritten_from"] == "Wake me at five!"
    assert rewritten.json()["text"] == "set an alarm for five am"
    assert plain.json()["rewritten_from"] is None
    rows = read_requests(path)
    assert [(row["text"], row["rewrite"]) for row in rows] == [
        ("Wake me at five!", "set an alarm for five am"),
        ("wake me up at six", None),
    ]
