"""``POST /v1/intents/{name}/examples``: teach the served model an intent, or more examples of
one, without retraining (``NLU.add_examples``). Off unless the service was started with
``--accept-examples``; every addition is saved into the model folder before the answer."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.concurrency import run_in_threadpool

from polynlu.errors import CannotLearnError, PolynluError
from polynlu.serving.problems import PROBLEM_RESPONSES, ProblemError, check_text_lengths
from polynlu.serving.schemas import (
    ExamplesRequest,
    ExamplesResponse,
    FieldError,
    Problem,
)
from polynlu.serving.state import Service, ServiceState
from polynlu.text.validation import intent_name_problem

router = APIRouter(prefix="/v1", tags=["learn"])


@router.post(
    "/intents/{name}/examples",
    response_model=ExamplesResponse,
    status_code=status.HTTP_201_CREATED,
    responses={
        **PROBLEM_RESPONSES,
        403: {"model": Problem, "description": "The service does not accept examples."},
        409: {"model": Problem, "description": "This model cannot take examples."},
    },
    summary="Add an intent, or examples to one, with immediate effect",
)
async def add_examples(name: str, request: ExamplesRequest, service: Service) -> ExamplesResponse:
    if not service.settings.accept_examples:
        raise ProblemError(
            403,
            "Examples not accepted",
            "this service does not change its model: start it with --accept-examples",
            [FieldError(field="service", message="accept_examples is off")],
        )
    problem = intent_name_problem(name)
    if problem:
        raise ProblemError(
            422, "Invalid intent name", problem, [FieldError(field="name", message=problem)]
        )
    check_text_lengths(request.examples, "examples[{}]", service.settings.max_text_chars)
    # Embedding the examples is model work: off the event loop, one addition at a time.
    return await run_in_threadpool(_add, service, name, request)


def _add(service: ServiceState, name: str, request: ExamplesRequest) -> ExamplesResponse:
    with service.learning:
        nlu = service.nlu
        new_intent = name not in nlu.model.intents
        try:
            nlu.add_examples(name, request.examples, locale=request.locale)
        except PolynluError as error:
            # The model's refusal is a conflict; anything else is the examples' fault.
            cannot = isinstance(error, CannotLearnError)
            raise ProblemError(
                409 if cannot else 422,
                "Model cannot take examples" if cannot else "Invalid example",
                str(error),
                [FieldError(field="model" if cannot else "examples", message=str(error))],
            ) from error
        nlu.save_additions(service.settings.model)
        service.refresh()
        since = sum(1 for e in nlu.model.added_examples if e.intent == name)
        return ExamplesResponse(
            intent=name,
            added=len(request.examples),
            new_intent=new_intent,
            examples_since_training=since,
            model=service.reference,
        )
