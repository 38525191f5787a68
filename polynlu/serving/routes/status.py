"""``GET /v1/health``, ``GET /v1/model`` and ``GET /metrics``: what the service is and how it
is doing."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from polynlu.models.config import CONFIG_FILE
from polynlu.serving.problems import ProblemError
from polynlu.serving.schemas import FieldError, HealthResponse, ModelInfo, Problem
from polynlu.serving.state import Service

router = APIRouter(tags=["status"])


@router.get(
    "/v1/health",
    response_model=HealthResponse,
    responses={503: {"model": Problem, "description": "The model folder is gone."}},
    summary="Liveness",
)
async def health(service: Service) -> HealthResponse:
    folder = Path(service.settings.model)
    if not (folder / CONFIG_FILE).is_file():
        # This worker still answers from memory, but a restarted one could not load the
        # model: say so, so that a supervisor or load balancer stops relying on it.
        raise ProblemError(
            503,
            "Model folder missing",
            f"the model folder {folder} is gone; a restarted worker could not load the model",
            [FieldError(field="model", message="folder missing")],
        )
    return HealthResponse(
        status="ok",
        model=service.reference,
        uptime_s=round(time.monotonic() - service.born, 1),
    )


@router.get("/v1/model", response_model=ModelInfo, summary="What the model knows")
async def model_info(service: Service) -> ModelInfo:
    return service.info


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
async def prometheus_metrics(service: Service) -> PlainTextResponse:
    return PlainTextResponse(
        generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )


# HEAD answers as GET does, without the body (the server drops it); FastAPI adds no HEAD
# to a GET route, and a second documented operation per path would only repeat GET's.
for path, endpoint in (
    ("/v1/health", health),
    ("/v1/model", model_info),
    ("/metrics", prometheus_metrics),
):
    router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)
