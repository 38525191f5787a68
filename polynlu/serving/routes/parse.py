"""``POST /v1/parse`` and ``POST /v1/parse/batch``: utterances in, interpretations out, each
answer with a ``request_id`` and, under ``--log``, recorded in the interaction log."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict
from datetime import datetime, timezone

from fastapi import APIRouter

from polynlu.learning.log import LoggedRequest
from polynlu.serving.problems import PROBLEM_RESPONSES, ProblemError, check_text_lengths
from polynlu.serving.schemas import (
    BatchRequest,
    BatchResponse,
    FieldError,
    IntentScoreOut,
    ModelRef,
    ParseRequest,
    ParseResponse,
    SlotOut,
)
from polynlu.serving.state import Service, ServiceState
from polynlu.types import Interpretation

router = APIRouter(prefix="/v1", tags=["parse"])


def to_response(result: Interpretation, model: ModelRef, started: float) -> ParseResponse:
    return ParseResponse(
        request_id=uuid.uuid4().hex,
        text=result.text,
        locale=result.locale,
        locale_source=result.locale_source,  # type: ignore[arg-type]
        zero_shot=result.zero_shot,
        rewritten_from=result.rewritten_from,
        intent=result.intent,
        confidence=result.confidence,
        out_of_scope=result.out_of_scope,
        alternatives=[IntentScoreOut(**asdict(a)) for a in result.alternatives],
        slots=[SlotOut(**asdict(s)) for s in result.slots],
        model=model,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
    )


@router.post(
    "/parse",
    response_model=ParseResponse,
    responses=PROBLEM_RESPONSES,
    summary="Interpret one utterance",
)
async def parse(request: ParseRequest, service: Service) -> ParseResponse:
    started = time.perf_counter()
    check_text_lengths([request.text], "text", service.settings.max_text_chars)
    [result] = await service.batcher.submit([request])
    response = to_response(result, service.reference, started)
    _log(service, [request], [response])
    return response


@router.post(
    "/parse/batch",
    response_model=BatchResponse,
    responses=PROBLEM_RESPONSES,
    summary="Interpret many utterances, answered in order",
)
async def parse_batch(request: BatchRequest, service: Service) -> BatchResponse:
    started = time.perf_counter()
    limit = service.settings.max_batch_items
    if len(request.items) > limit:
        raise ProblemError(
            422,
            "Invalid request",
            "too many items",
            [
                FieldError(
                    field="items",
                    message=f"has {len(request.items)} items; the limit is {limit}",
                )
            ],
        )
    check_text_lengths(
        [item.text for item in request.items], "items[{}].text", service.settings.max_text_chars
    )
    results = await service.batcher.submit(request.items)
    items = [to_response(result, service.reference, started) for result in results]
    _log(service, request.items, items)
    return BatchResponse(items=items, latency_ms=items[-1].latency_ms)


def _log(
    service: ServiceState, requests: list[ParseRequest], responses: list[ParseResponse]
) -> None:
    """Queue the answers for the interaction log: no disk on the request path."""
    if service.log is None:
        return
    now = datetime.now(timezone.utc)
    for request, response in zip(requests, responses, strict=True):
        service.log.record(
            LoggedRequest(
                request_id=response.request_id,
                time=now,
                text=response.rewritten_from or response.text,
                rewrite=response.text if response.rewritten_from is not None else None,
                locale=response.locale,
                intent=response.intent,
                confidence=response.confidence,
                out_of_scope=response.out_of_scope,
                slots=[
                    {"slot": s.slot, "value": s.value, "start": s.start, "end": s.end}
                    for s in response.slots
                ],
                latency_ms=response.latency_ms,
                model_version=response.model.version,
                session_id=request.session_id,
                client_time=request.timestamp,
            )
        )
