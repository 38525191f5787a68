"""``GET /v1/health``, ``GET /v1/model`` and ``GET /metrics``: what the service is and how it
is doing."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from polynlu.serving.schemas import HealthResponse, ModelInfo
from polynlu.serving.state import Service

router = APIRouter(tags=["status"])


@router.get("/v1/health", response_model=HealthResponse, summary="Liveness")
async def health(service: Service) -> HealthResponse:
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
