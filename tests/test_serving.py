"""The HTTP service, as clients meet it: a real uvicorn server on 127.0.0.1 with a tiny joint
model trained in the fixture."""

import asyncio
import json
import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support import LiveServer

from polynlu.errors import PolynluError
from polynlu.models.backbones.registry import TINY_BACKBONE
from polynlu.models.base import read_model_config
from polynlu.models.joint import JointModel
from polynlu.serving import ServeSettings
from polynlu.serving.server import serve_in_background

pytestmark = pytest.mark.slow  # real processes and servers


@pytest.fixture(scope="module")
def model_folder(tiny_joint: tuple[JointModel, Path]) -> Path:
    return tiny_joint[1]


@pytest.fixture(scope="module")
def server(model_folder: Path) -> Iterator[LiveServer]:
    settings = ServeSettings(model=str(model_folder), max_body_bytes=100_000)
    with LiveServer(settings) as live:
        yield live


@pytest.fixture()
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def test_parse_answers_with_the_interpretation(client: httpx.Client) -> None:
    text = "wake me up at five am this friday"
    response = client.post("/v1/parse", json={"text": text, "locale": "en-US"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == text and body["locale"] == "en-US"
    assert body["locale_source"] == "given" and body["zero_shot"] is False
    assert 0.0 <= body["confidence"] <= 1.0 and isinstance(body["out_of_scope"], bool)
    assert body["intent"] == body["alternatives"][0]["intent"]
    assert body["model"] == {"name": "tiny-joint", "version": body["model"]["version"]}
    assert body["latency_ms"] > 0
    for slot in body["slots"]:
        assert text[slot["start"] : slot["end"]] == slot["value"]


def test_a_missing_locale_is_detected_and_an_untrained_language_is_zero_shot(
    client: httpx.Client,
) -> None:
    german = client.post("/v1/parse", json={"text": "Wie wird das Wetter morgen in Berlin"})
    assert german.status_code == 200, german.text
    assert german.json()["locale"] == "de-DE"
    assert german.json()["locale_source"] == "detected" and german.json()["zero_shot"] is True
    japanese = client.post("/v1/parse", json={"text": "明日の天気を教えてください", "locale": None})
    assert japanese.json()["locale"] == "ja-JP" and japanese.json()["zero_shot"] is True
    english = client.post("/v1/parse", json={"text": "what is the weather like tomorrow"})
    assert english.json()["locale"] == "en-US" and english.json()["zero_shot"] is False


def test_batch_answers_in_the_order_asked(client: httpx.Client) -> None:
    texts = ["turn the lights off", "明日の天気は", "wake me up at six", "play some jazz"]
    items: list[dict[str, Any]] = [{"text": t} for t in texts]
    items[1]["locale"] = "ja-JP"
    response = client.post("/v1/parse/batch", json={"items": items})
    assert response.status_code == 200, response.text
    answered = response.json()["items"]
    assert [item["text"] for item in answered] == texts
    assert answered[1]["locale"] == "ja-JP" and answered[1]["locale_source"] == "given"


def test_health_and_model_describe_the_service(client: httpx.Client, model_folder: Path) -> None:
    health = client.get("/v1/health").json()
    assert health["status"] == "ok" and health["model"]["name"] == "tiny-joint"
    info = client.get("/v1/model").json()
    config = read_model_config(model_folder)
    assert info["intents"] == config.intents and info["slot_types"] == config.slot_types
    assert info["train_locales"] == ["en-US"] and info["backbone"] == TINY_BACKBONE
    assert info["parameters"] > 0 and info["size_bytes"] > 0
    assert info["calibration"] == {"temperature": 1.0, "out_of_scope_threshold": 0.5}


def test_concurrent_requests_share_model_calls(server: LiveServer, client: httpx.Client) -> None:
    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            return await asyncio.gather(
                *(
                    http.post(
                        "/v1/parse", json={"text": f"set an alarm for {i} am", "locale": "en-US"}
                    )
                    for i in range(48)
                )
            )

    responses = asyncio.run(burst())
    assert all(r.status_code == 200 for r in responses)
    assert [r.json()["text"] for r in responses] == [f"set an alarm for {i} am" for i in range(48)]
    metrics = client.get("/metrics").text
    count = float(re.search(r"^polynlu_batch_size_count (\S+)$", metrics, re.M).group(1))  # type: ignore[union-attr]
    total = float(re.search(r"^polynlu_batch_size_sum (\S+)$", metrics, re.M).group(1))  # type: ignore[union-attr]
    assert total / count > 1.5, "requests that arrive together should share a model call"


PROBLEM_CASES: list[tuple[str, str, bytes | dict[str, Any], int, str]] = [
    ("empty text", "/v1/parse", {"text": ""}, 422, "text"),
    ("whitespace text", "/v1/parse", {"text": " \n\t "}, 422, "text"),
    ("text over 2,000 characters", "/v1/parse", {"text": "a" * 2001}, 422, "text"),
    ("10,000 emoji", "/v1/parse", {"text": "😀" * 10_000}, 422, "text"),
    ("missing text", "/v1/parse", {"locale": "en-US"}, 422, "text"),
    ("text of the wrong type", "/v1/parse", {"text": 5}, 422, "text"),
    ("locale of the wrong type", "/v1/parse", {"text": "hi", "locale": 7}, 422, "locale"),
    ("malformed locale", "/v1/parse", {"text": "hi", "locale": "english"}, 422, "locale"),
    ("unknown field", "/v1/parse", {"text": "hi", "speaker": "bob"}, 422, "speaker"),
    ("control character", "/v1/parse", {"text": "hi\u0000there"}, 422, "text"),
    ("unpaired surrogate", "/v1/parse", b'{"text": "hi \\ud800 there"}', 422, "text"),
    ("invalid JSON", "/v1/parse", b'{"text": "hi"', 400, "body"),
    ("invalid UTF-8", "/v1/parse", b'{"text": "\xff\xfe"}', 400, "body"),
    ("not an object", "/v1/parse", b"[1, 2]", 422, "body"),
    ("body over the size limit", "/v1/parse", {"text": "a" * 200_000}, 413, "body"),
    ("empty batch", "/v1/parse/batch", {"items": []}, 422, "items"),
    ("too many items", "/v1/parse/batch", {"items": [{"text": "hi"}] * 65}, 422, "items"),
    (
        "bad item",
        "/v1/parse/batch",
        {"items": [{"text": "ok"}, {"text": ""}]},
        422,
        "items[1].text",
    ),
    (
        "item over the length limit",
        "/v1/parse/batch",
        {"items": [{"text": "ok"}, {"text": "ok"}, {"text": "b" * 2001}]},
        422,
        "items[2].text",
    ),
]


@pytest.mark.parametrize(
    ("case", "route", "body", "status", "field"), PROBLEM_CASES, ids=[c[0] for c in PROBLEM_CASES]
)
def test_bad_input_gets_a_problem_naming_the_field(
    client: httpx.Client,
    case: str,
    route: str,
    body: bytes | dict[str, Any],
    status: int,
    field: str,
) -> None:
    if not isinstance(body, bytes):
        body = json.dumps(body, ensure_ascii=False).encode()
    response = client.post(route, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert field in [error["field"] for error in problem["errors"]], problem


def test_a_streamed_body_over_the_limit_is_cut_off(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(20):
            yield b"a" * 10_000
        yield b'"}'

    response = client.post(
        "/v1/parse", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "body"


def test_unknown_routes_and_methods_are_problems_too(client: httpx.Client) -> None:
    assert client.get("/v1/nothing").status_code == 404
    wrong = client.get("/v1/parse")
    assert wrong.status_code == 405 and wrong.json()["status"] == 405


def test_metrics_count_every_answer_and_no_server_errors(client: httpx.Client) -> None:
    client.post("/v1/parse", json={"text": ""})
    client.post("/v1/parse", json={"text": "hello", "locale": "en-US"})
    metrics = client.get("/metrics").text
    assert re.search(
        r'^polynlu_http_requests_total\{method="POST",route="/v1/parse",status="422"\} [1-9]',
        metrics,
        re.M,
    )
    assert 'route="/v1/parse",status="200"' in metrics
    assert "polynlu_http_request_duration_seconds_bucket" in metrics
    assert not re.search(r'status="5\d\d"', metrics), "no request may end in a 5xx"


def test_out_of_scope_threshold_can_be_set_at_serve_time(model_folder: Path) -> None:
    settings = ServeSettings(model=str(model_folder), out_of_scope_threshold=1.0)
    with LiveServer(settings) as live, httpx.Client(base_url=live.url) as http:
        body = http.post("/v1/parse", json={"text": "play jazz", "locale": "en-US"}).json()
        assert body["out_of_scope"] is True
        assert http.get("/v1/model").json()["calibration"]["out_of_scope_threshold"] == 1.0


def test_the_serve_command_starts_workers_that_answer_keep_alive_requests_at_once(
    model_folder: Path, serve_command: Callable[..., AbstractContextManager[str]]
) -> None:
    with serve_command(model_folder, "--workers", "2") as url, httpx.Client(base_url=url) as http:
        assert http.get("/v1/health").json()["status"] == "ok"
        parsed = http.post(
            "/v1/parse/batch", json={"items": [{"text": "turn the lights off", "locale": "en-US"}]}
        )
        assert parsed.status_code == 200 and parsed.json()["items"][0]["intent"]
        # Without TCP_NODELAY on the shared socket (uvicorn issue #3149), each request after
        # the first on a connection waits for the client's delayed ACK: 40 ms or more on Linux.
        seconds = []
        for _ in range(15):
            started = time.perf_counter()
            http.get("/v1/health").raise_for_status()
            seconds.append(time.perf_counter() - started)
    assert statistics.median(seconds[1:]) < 0.03


def test_a_server_that_cannot_start_is_reported_not_awaited(tmp_path: Path) -> None:
    with (
        pytest.raises(PolynluError, match="did not answer"),
        serve_in_background(tmp_path / "no-model", timeout=60.0),
    ):
        pass


# Fuzzing from the OpenAPI schema: schemathesis generates requests for every operation, both
# valid ones (positive) and ones that break the schema (negative). No answer may be a 5xx; a
# valid request must also get a documented status and content type, and an answer that
# matches its documented model.
POST_ROUTES = ("/v1/parse", "/v1/parse/batch")
FUZZED = [
    *((route, "POST", mode) for route in POST_ROUTES for mode in GenerationMode),
    # GET routes take no input: there is nothing to make invalid.
    *((route, "GET", GenerationMode.POSITIVE) for route in ("/v1/health", "/v1/model", "/metrics")),
]


@pytest.mark.parametrize(("path", "method", "mode"), FUZZED)
def test_fuzzing_from_the_openapi_schema_finds_no_server_error(
    server: LiveServer, path: str, method: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operation = schema[path][method]
    checks = [not_a_server_error]
    if mode is GenerationMode.POSITIVE:
        checks += [status_code_conformance, content_type_conformance, response_schema_conformance]
    examples = 80 if method == "POST" else 5

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        case.call_and_validate(checks=checks)

    call()
