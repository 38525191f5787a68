"""The HTTP service: ``create_app(ServeSettings(model=DIR))`` → a FastAPI app that parses.

Routes: ``POST /v1/parse``, ``POST /v1/parse/batch``, ``GET /v1/health``, ``GET /v1/model``,
``GET /metrics``. Every refusal is an RFC 9457 problem (``application/problem+json``) that
names the fields at fault; the model is loaded once per worker process.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polynlu import __version__
from polynlu.models.base import CONFIG_FILE, model_size_bytes
from polynlu.nlu import NLU
from polynlu.serving.batching import MicroBatcher
from polynlu.serving.metrics import MetricsMiddleware, ServiceMetrics
from polynlu.serving.schemas import (
    DEFAULT_MAX_BATCH_ITEMS,
    DEFAULT_MAX_TEXT_CHARS,
    BatchRequest,
    BatchResponse,
    CalibrationOut,
    FieldError,
    HealthResponse,
    IntentScoreOut,
    ModelInfo,
    ModelRef,
    ParseRequest,
    ParseResponse,
    Problem,
    SlotOut,
    field_path,
)
from polynlu.types import Interpretation

SETTINGS_ENVIRONMENT = "POLYNLU_SERVE_SETTINGS"
PROBLEM_JSON = "application/problem+json"
LOCALE_MESSAGE = "is not a locale code such as en-US, de-DE or zh-Hant-TW"
ROUTES = ("/v1/parse", "/v1/parse/batch", "/v1/health", "/v1/model", "/metrics")
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": description}
    for code, description in (
        (400, "The body is not valid JSON."),
        (413, "The body is over the size limit."),
        (422, "A field is missing, of the wrong type, or out of its limits."),
    )
}


@dataclass(frozen=True)
class ServeSettings:
    model: str
    """The model folder (a trained or exported polynlu model)."""
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    max_batch_items: int = DEFAULT_MAX_BATCH_ITEMS
    max_body_bytes: int = 1_000_000
    micro_batch: int = 64
    """Most utterances in one model call."""
    micro_batch_wait_ms: float = 0.0
    """How long the first request of a micro-batch waits for company (requests that arrive
    while the model is busy batch up anyway)."""
    out_of_scope_threshold: float | None = None
    """Overrides the model's calibrated threshold."""
    threads: int | None = None
    """Intra-op threads for the model in each worker (None: the runtime's default)."""
    detect_language: bool = True

    def to_environment(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> ServeSettings:
        raw = os.environ.get(SETTINGS_ENVIRONMENT)
        if not raw:
            raise RuntimeError(f"{SETTINGS_ENVIRONMENT} is not set; start with `polynlu serve`")
        return cls(**json.loads(raw))


class ProblemError(Exception):
    def __init__(self, status: int, title: str, detail: str, errors: Sequence[FieldError]) -> None:
        super().__init__(detail)
        self.problem = Problem(title=title, status=status, detail=detail, errors=list(errors))


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(problem.model_dump(), status_code=problem.status, media_type=PROBLEM_JSON)


class BodySizeLimit:
    """Refuses a body over ``limit`` bytes with 413, by its Content-Length or, for a streamed
    body, as soon as it grows past the limit: nothing larger is ever held in memory.

    Not Starlette's ``RequestBodyLimitMiddleware`` (``FastAPI(max_body_size=...)``): for an
    oversized Content-Length it replaces the response with plain text, and every refusal
    here is a problem document.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await too_large(self.limit)(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413)  # answered by the app's handler, as a problem
            return message

        await self.app(scope, limited_receive, send)


def too_large(limit: int) -> JSONResponse:
    return problem_response(
        Problem(
            title="Request body too large",
            status=413,
            detail=f"the body is over the limit of {limit:,} bytes",
            errors=[FieldError(field="body", message=f"at most {limit:,} bytes")],
        )
    )


def model_reference(folder: Path) -> ModelRef:
    """The folder's name, and a version that changes whenever its config.json does
    (retraining or recalibrating)."""
    digest = hashlib.sha256((folder / CONFIG_FILE).read_bytes()).hexdigest()[:12]
    return ModelRef(name=folder.resolve().name, version=digest)


def to_response(result: Interpretation, model: ModelRef, started: float) -> ParseResponse:
    return ParseResponse(
        text=result.text,
        locale=result.locale,
        locale_source=result.locale_source,  # type: ignore[arg-type]
        zero_shot=result.zero_shot,
        intent=result.intent,
        confidence=result.confidence,
        out_of_scope=result.out_of_scope,
        alternatives=[IntentScoreOut(**asdict(a)) for a in result.alternatives],
        slots=[SlotOut(**asdict(s)) for s in result.slots],
        model=model,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
    )


def create_app(settings: ServeSettings) -> FastAPI:
    folder = Path(settings.model)
    nlu = NLU.load(folder, detect_language=settings.detect_language)
    nlu.model.set_threads(settings.threads)
    if settings.out_of_scope_threshold is not None:
        nlu.model.calibration = replace(
            nlu.model.calibration, out_of_scope_threshold=settings.out_of_scope_threshold
        )
    reference = model_reference(folder)
    config = json.loads((folder / CONFIG_FILE).read_text("utf-8"))
    info = ModelInfo(
        name=reference.name,
        version=reference.version,
        kind=nlu.model.kind,
        backbone=config.get("backbone") or config.get("exported_from", {}).get("backbone"),
        intents=nlu.model.intents,
        slot_types=nlu.model.slot_types,
        train_locales=nlu.model.train_locales,
        parameters=nlu.model.parameter_count(),
        size_bytes=model_size_bytes(folder),
        calibration=CalibrationOut(
            temperature=nlu.model.calibration.temperature,
            out_of_scope_threshold=nlu.model.calibration.out_of_scope_threshold,
        ),
    )
    metrics = ServiceMetrics()

    def parse_items(items: list[ParseRequest]) -> list[Interpretation]:
        return nlu.parse_batch([i.text for i in items], [i.locale for i in items])

    batcher: MicroBatcher[ParseRequest, Interpretation] = MicroBatcher(
        parse_items,
        max_batch=settings.micro_batch,
        max_wait_ms=settings.micro_batch_wait_ms,
        on_batch=metrics.observe_batch,
    )
    born = time.monotonic()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        try:
            yield
        finally:
            await batcher.stop()

    app = FastAPI(
        title="polynlu",
        version=__version__,
        summary="Multilingual intent and slot parsing for voice and chat assistants.",
        lifespan=lifespan,
    )

    def check_limits(items: Sequence[ParseRequest], prefix: str) -> None:
        errors = [
            FieldError(
                field=f"{prefix.format(index)}text",
                message=f"has {len(item.text):,} characters; the limit is "
                f"{settings.max_text_chars:,}",
            )
            for index, item in enumerate(items)
            if len(item.text) > settings.max_text_chars
        ]
        if errors:
            raise ProblemError(422, "Invalid request", "text over the length limit", errors)

    @app.post(
        "/v1/parse",
        response_model=ParseResponse,
        responses=_PROBLEMS,
        summary="Interpret one utterance",
    )
    async def parse(request: ParseRequest) -> ParseResponse:
        started = time.perf_counter()
        check_limits([request], "")
        [result] = await batcher.submit([request])
        return to_response(result, reference, started)

    @app.post(
        "/v1/parse/batch",
        response_model=BatchResponse,
        responses=_PROBLEMS,
        summary="Interpret many utterances, answered in order",
    )
    async def parse_batch(request: BatchRequest) -> BatchResponse:
        started = time.perf_counter()
        if len(request.items) > settings.max_batch_items:
            raise ProblemError(
                422,
                "Invalid request",
                "too many items",
                [
                    FieldError(
                        field="items",
                        message=f"has {len(request.items)} items; the limit is "
                        f"{settings.max_batch_items}",
                    )
                ],
            )
        check_limits(request.items, "items[{}].")
        results = await batcher.submit(request.items)
        items = [to_response(result, reference, started) for result in results]
        return BatchResponse(items=items, latency_ms=items[-1].latency_ms)

    @app.get("/v1/health", response_model=HealthResponse, summary="Liveness")
    async def health() -> HealthResponse:
        return HealthResponse(
            status="ok", model=reference, uptime_s=round(time.monotonic() - born, 1)
        )

    @app.get("/v1/model", response_model=ModelInfo, summary="What the model knows")
    async def model_info() -> ModelInfo:
        return info

    @app.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
    async def prometheus_metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(ProblemError)
    async def on_problem(_: Request, error: ProblemError) -> JSONResponse:
        return problem_response(error.problem)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        found = list(error.errors())
        if any(e.get("type") == "json_invalid" for e in found):
            message = next(e for e in found if e.get("type") == "json_invalid")
            detail = str(message.get("ctx", {}).get("error", "invalid JSON"))
            return problem_response(
                Problem(
                    title="Invalid JSON",
                    status=400,
                    detail=f"the body is not valid JSON: {detail}",
                    errors=[FieldError(field="body", message=detail)],
                )
            )
        errors = [
            FieldError(
                field=field_path(e.get("loc", ())),
                # Never echo the input: it may hold what cannot be encoded (surrogates).
                message=LOCALE_MESSAGE
                if e.get("type") == "string_pattern_mismatch"
                else str(e.get("msg", "invalid")).removeprefix("Value error, "),
            )
            for e in found
        ]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return problem_response(
            Problem(title="Invalid request", status=422, detail=detail, errors=errors)
        )

    @app.exception_handler(HTTPException)
    async def on_http(_: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 413:
            return too_large(settings.max_body_bytes)
        field = "body" if error.status_code == 400 else "path"
        return problem_response(
            Problem(
                title=str(error.detail),
                status=error.status_code,
                detail=str(error.detail),
                errors=[FieldError(field=field, message=str(error.detail))],
            )
        )

    @app.exception_handler(Exception)
    async def on_bug(_: Request, error: Exception) -> JSONResponse:
        return problem_response(
            Problem(title="Internal error", status=500, detail=type(error).__name__)
        )

    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics, routes=ROUTES)
    return app


def app_from_environment() -> FastAPI:
    """The factory ``polynlu serve`` hands uvicorn, so each worker loads the model itself."""
    return create_app(ServeSettings.from_environment())
