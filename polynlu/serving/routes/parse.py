"""``POST /v1/parse`` and ``POST /v1/parse/batch``: utterances in, interpretations out."""

from __future__ import annotations

import time
from dataclasses import asdict

from fastapi import APIRouter

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
from polynlu.serving.state import Service
from polynlu.types import Interpretation

router = APIRouter(prefix="/v1", tags=["parse"])


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
    return to_response(result, service.reference, started)


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
    return BatchResponse(items=items, latency_ms=items[-1].latency_ms)
