"""The HTTP service: ``create_app(ServeSettings(model=DIR))`` → a FastAPI app that parses.

Routes: ``POST /v1/parse``, ``POST /v1/parse/batch``, ``POST /v1/feedback``,
``POST /v1/intents/{name}/examples``, ``GET /v1/health``, ``GET /v1/model``, ``GET /metrics``,
``POST /v1/assistant``, ``GET /v1/assistant/state`` and the web page at ``/`` (``routes/``).
Every refusal is an RFC 9457 problem (``problems``); the
model is loaded once per worker process into a ``ServiceState`` (``state``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from polynlu import __version__
from polynlu.serving.docs import add_offline_docs
from polynlu.serving.metrics import MetricsMiddleware
from polynlu.serving.problems import RequestBodyGuard, add_problem_handlers
from polynlu.serving.routes import ROUTERS
from polynlu.serving.settings import ServeSettings
from polynlu.serving.state import ServiceState

ROUTES = (
    "/v1/parse",
    "/v1/parse/batch",
    "/v1/feedback",
    "/v1/health",
    "/v1/model",
    "/metrics",
    "/v1/assistant",
)
"""Paths with metrics series of their own; anything else shares the label ``other``."""


def create_app(settings: ServeSettings) -> FastAPI:
    service = ServiceState.load(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await service.batcher.start()
        try:
            yield
        finally:
            await service.batcher.stop()
            if service.log is not None:
                service.log.close()  # what is queued is written: a clean stop loses no row

    app = FastAPI(
        title="polynlu",
        version=__version__,
        summary="Multilingual intent and slot parsing for voice and chat assistants.",
        lifespan=lifespan,
        docs_url=None,  # served from the package's own copy of Swagger UI, not a CDN
        redoc_url=None,
    )
    add_offline_docs(app)
    app.state.service = service
    for router in ROUTERS:
        app.include_router(router)
    add_problem_handlers(app, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        RequestBodyGuard,
        limit=settings.max_body_bytes,
        timeout_s=settings.body_timeout_s,
        # The form around the audio (boundaries, headers, a locale) is small: 64 KiB covers it.
        uploads={"/v1/assistant": settings.max_audio_bytes + 65_536},
    )
    app.add_middleware(MetricsMiddleware, metrics=service.metrics, routes=ROUTES)
    return app


def app_from_environment() -> FastAPI:
    """The factory ``polynlu serve`` hands uvicorn, so each worker loads the model itself."""
    return create_app(ServeSettings.from_environment())
