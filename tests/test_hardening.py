"""An unfriendly client against a real ``polynlu serve`` on 127.0.0.1: stalled and slow
sockets, too many connections, odd methods and content types, and a vanished model folder."""

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import LiveServer

from polynlu.models.joint import JointModel
from polynlu.serving import ServeSettings
from polynlu.serving.server import RepeatFilter, free_port

pytestmark = pytest.mark.slow  # real servers


@pytest.fixture(scope="module")
def server(tiny_joint: tuple[JointModel, Path]) -> Iterator[str]:
    from polynlu.serving.server import serve_in_background

    options = ("--header-timeout", "1", "--body-timeout", "1", "--max-connections", "8")
    with serve_in_background(tiny_joint[1], *options, timeout=60) as url:
        yield url


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def read_response(sock: socket.socket) -> bytes:
    """One whole response: its head, then as many body bytes as its Content-Length says."""
    raw = b""
    while b"\r\n\r\n" not in raw:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole head: {raw!r}"
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.lower().split(b"\r\n")
                      if line.startswith(b"content-length:")))  # fmt: skip
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed before the whole body"
        body += chunk
    return head + b"\r\n\r\n" + body


def problem_of(raw: bytes) -> tuple[int, dict[str, object], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    assert b"content-type: application/problem+json" in head.lower(), head
    return status, json.loads(body), head


def test_a_half_sent_request_head_is_answered_408_and_closed(server: str) -> None:
    stalled = [connect(server) for _ in range(5)]
    for sock in stalled:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\n")
    assert httpx.get(f"{server}/v1/health").status_code == 200  # others are served meanwhile
    started = time.monotonic()
    for sock in stalled:
        status, problem, _ = problem_of(read_all(sock))  # read_all ends: the server closed it
        assert status == 408 and "no complete request head within 1 s" in str(problem["detail"])
    assert time.monotonic() - started < 5


def test_a_body_that_never_comes_is_answered_408(server: str) -> None:
    sock = connect(server)
    sock.sendall(
        b"POST /v1/parse HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        b'content-length: 100\r\n\r\n{"text": '
    )
    status, problem, _ = problem_of(read_response(sock))
    assert status == 408 and problem["errors"] == [{"field": "body", "message": "Request Timeout"}]


def test_at_the_cap_an_idle_connection_makes_room_and_busy_ones_do_not(server: str) -> None:
    idle = [connect(server) for _ in range(8)]
    time.sleep(0.2)
    try:
        # A newcomer evicts the oldest idle connection (it never sent a request) and is served.
        assert httpx.get(f"{server}/v1/health").status_code == 200
        status, problem, _ = problem_of(read_all(idle[0]))
        assert status == 408 and "closed to make room" in str(problem["detail"])
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.2)
    busy = [connect(server) for _ in range(8)]
    try:
        for sock in busy:  # a request under way: its head is in, its body is coming
            sock.sendall(
                b"POST /v1/parse HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                b"content-length: 100\r\n\r\n{"
            )
        time.sleep(0.2)
        status, problem, _ = problem_of(read_all(connect(server)))
        assert status == 503 and "all with requests under way" in str(problem["detail"])
    finally:
        for sock in busy:
            sock.close()


def test_protocol_errors_methods_and_content_types_are_problems(server: str) -> None:
    sock = connect(server)
    sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
    status, _, _ = problem_of(read_all(sock))
    assert status == 400
    with httpx.Client(base_url=server) as http:
        wrong_method = http.delete("/v1/parse")
        assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
        assert wrong_method.headers["content-type"] == "application/problem+json"
        assert http.head("/v1/health").status_code == 200
        plain = http.post(
            "/v1/parse", content=b'{"text": "hi"}', headers={"content-type": "text/plain"}
        )
        assert plain.status_code == 415 and plain.json()["errors"][0]["field"] == "content-type"
        for index in range(40):
            http.request(f"SCAN{index}", "/v1/health")
        metrics = http.get("/metrics").text
        assert "SCAN" not in metrics and 'method="other"' in metrics
        docs = http.get("/docs").text
        assert "/docs/assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
        assert http.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_sigterm_does_not_wait_for_a_stalled_client(tiny_joint: tuple[JointModel, Path]) -> None:
    port = free_port()
    command = [sys.executable, "-m", "polynlu", "serve", str(tiny_joint[1]), "--port", str(port)]
    command += ["--header-timeout", "60", "--shutdown-timeout", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/health")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
        stalled = connect(f"http://127.0.0.1:{port}")
        stalled.sendall(b"POST /v1/parse HTTP/1.1\r\nhost: x\r\ncontent-type: application/json")
        time.sleep(0.3)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        assert time.monotonic() - started < 12  # bounded (2 s asked): without it, forever
    finally:
        process.kill()


def test_health_says_503_when_the_model_folder_is_gone(
    tiny_joint: tuple[JointModel, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_joint[1], folder)
    with LiveServer(ServeSettings(model=str(folder))) as live:
        assert httpx.get(f"{live.url}/v1/health").status_code == 200
        shutil.rmtree(folder)
        gone = httpx.get(f"{live.url}/v1/health")
        assert gone.status_code == 503 and "folder" in gone.json()["detail"]
        answer = httpx.post(f"{live.url}/v1/parse", json={"text": "play jazz", "locale": "en-US"})
        assert answer.status_code == 200  # it still answers from memory


def test_a_flood_of_one_log_message_is_held_back() -> None:
    import logging

    records = [logging.LogRecord("asyncio", 40, "", 0, "accept failed", None, None)]
    records += [logging.LogRecord("asyncio", 40, "", 0, "accept failed", None, None)] * 999
    repeats = RepeatFilter(interval=60)
    assert sum(repeats.filter(record) for record in records) == 1


def test_a_worker_that_cannot_start_again_is_respawned_with_backoff(
    tiny_joint: tuple[JointModel, Path], tmp_path: Path
) -> None:
    import os
    import re

    folder = tmp_path / "model"
    shutil.copytree(tiny_joint[1], folder)
    port = free_port()
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "polynlu", "serve", str(folder), "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen([*command, "--workers", "2"], stdout=sink, stderr=sink)
    try:
        deadline = time.monotonic() + 90
        while len(re.findall(r"Application startup complete", log.read_text())) < 2:
            assert time.monotonic() < deadline and process.poll() is None, log.read_text()
            time.sleep(0.3)
        worker = int(re.findall(r"Started server process \[(\d+)\]", log.read_text())[0])
        shutil.rmtree(folder)
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 60  # 1 + 2 + 4 s of backoff, and each attempt's start
        while len(delays := re.findall(r"restarting it in (\d+) s", log.read_text())) < 3:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        assert delays[:3] == ["1", "2", "4"]
        assert httpx.get(f"http://127.0.0.1:{port}/v1/health").status_code == 503
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_schema_states_the_text_rules_the_server_enforces(server: str) -> None:
    text = httpx.get(f"{server}/openapi.json").json()["components"]["schemas"]["ParseRequest"]
    text = text["properties"]["text"]
    assert "control characters" in text["description"] and "surrogates" in text["description"]
    assert text["pattern"].startswith("^[^\\u0000-\\u0008")
    refused = httpx.post(f"{server}/v1/parse", json={"text": "play\u0007jazz"})
    assert refused.status_code == 422 and "U+0007" in refused.json()["detail"]
