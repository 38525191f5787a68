"""``POST /v1/feedback``: a client that knows how a request went (the user said thanks, or
cancelled) says so; the outcome joins the request in the interaction log for
``polynlu learn``. Needs ``polynlu serve --log``."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, status

from polynlu.learning.log import Feedback
from polynlu.serving.problems import PROBLEM_RESPONSES, ProblemError
from polynlu.serving.schemas import FeedbackRequest, FeedbackResponse, FieldError, Problem
from polynlu.serving.state import Service

router = APIRouter(prefix="/v1", tags=["learn"])


@router.post(
    "/feedback",
    response_model=FeedbackResponse,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **PROBLEM_RESPONSES,
        403: {"model": Problem, "description": "The service keeps no interaction log."},
    },
    summary="Say how an answered request went",
)
async def feedback(request: FeedbackRequest, service: Service) -> FeedbackResponse:
    if service.log is None:
        raise ProblemError(
            403,
            "No interaction log",
            "this service records no feedback: start it with --log FILE",
            [FieldError(field="service", message="log is off")],
        )
    # Queued like the requests; an id the log never saw is kept and matches nothing.
    service.log.record(Feedback(request.request_id, datetime.now(timezone.utc), request.outcome))
    return FeedbackResponse(request_id=request.request_id, outcome=request.outcome)
