"""``POST /v1/assistant`` (audio or text in; transcript, interpretation, reply text and reply
speech out), ``GET /v1/assistant/state`` (the skills' alarms, lists and lights) and the web
page at ``/``."""

from __future__ import annotations

import base64
import json
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from polynlu.assistant.audio import AudioError
from polynlu.assistant.pipeline import Assistant, Turn
from polynlu.serving.problems import PROBLEM_RESPONSES, ProblemError, check_text_lengths
from polynlu.serving.routes.parse import to_response
from polynlu.serving.schemas import (
    AssistantResponse,
    AssistantTextRequest,
    FieldError,
    TranscriptOut,
)
from polynlu.serving.state import Service, ServiceState
from polynlu.text.validation import LOCALE_MESSAGE, is_locale

router = APIRouter(tags=["assistant"])

_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "audio": {
                        "type": "string",
                        "format": "binary",
                        "description": "A recorded request: WAV, WebM or Ogg, at most 30 s.",
                    },
                    "text": {"type": "string", "description": "Or a typed request."},
                    "locale": {"type": "string", "description": "Where the caller knows it."},
                },
            }
        },
        "application/json": {"schema": AssistantTextRequest.model_json_schema()},
    },
}
_AUDIO_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    415: {
        **PROBLEM_RESPONSES[415],
        "description": "The body is neither JSON nor multipart, or the audio not WAV, WebM, Ogg.",
    },
    503: {"description": "The service runs without the assistant (`--no-assistant`)."},
}


def _assistant(service: ServiceState) -> Assistant:
    if service.assistant is None:
        raise ProblemError(
            503,
            "Assistant off",
            "this service runs without the assistant (polynlu serve --no-assistant)",
            [FieldError(field="path", message="not served")],
        )
    return service.assistant


@router.post(
    "/v1/assistant",
    response_model=AssistantResponse,
    responses=_AUDIO_PROBLEMS,
    summary="Answer a spoken or typed request",
    openapi_extra={"requestBody": _REQUEST_BODY},
)
async def assistant(request: Request, service: Service) -> AssistantResponse:
    helper = _assistant(service)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=4)
        audio, text = form.get("audio"), form.get("text")
        locale = form.get("locale")
        if isinstance(audio, UploadFile):
            data = await audio.read()
            turn = await _run(helper.handle_audio, data, _form_locale(locale))
            return _response(turn, service)
        if not isinstance(text, str) or not text:
            raise ProblemError(
                422,
                "Invalid request",
                "the form needs an `audio` file or a `text` field",
                [FieldError(field="audio", message="missing (or give `text`)")],
            )
        fields: dict[str, Any] = {"text": text, "locale": locale or None}
    else:
        try:
            fields = json.loads(await request.body())
        except json.JSONDecodeError as error:
            raise ProblemError(
                400,
                "Invalid JSON",
                f"the body is not valid JSON: {error}",
                [FieldError(field="body", message=str(error))],
            ) from error
    try:
        typed = AssistantTextRequest.model_validate(fields)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors()]
        ) from error
    check_text_lengths([typed.text], "text", service.settings.max_text_chars)
    turn = await _run(helper.handle_text, typed.text, typed.locale)
    return _response(turn, service)


def _form_locale(locale: object) -> str | None:
    """The form's locale, checked as the JSON body's is (a 422 naming the field)."""
    if locale in (None, ""):
        return None
    if not isinstance(locale, str) or not is_locale(locale):
        raise ProblemError(
            422,
            "Invalid request",
            f"locale: {LOCALE_MESSAGE}",
            [FieldError(field="locale", message=LOCALE_MESSAGE)],
        )
    return locale


async def _run(handler: Any, *arguments: Any) -> Turn:
    try:
        turn: Turn = await run_in_threadpool(handler, *arguments)
    except AudioError as error:
        raise ProblemError(
            error.status,
            "Unusable audio",
            str(error),
            [FieldError(field="audio", message=str(error))],
        ) from error
    return turn


def _response(turn: Turn, service: ServiceState) -> AssistantResponse:
    interpretation = to_response(turn.interpretation, service.reference, 0.0)
    interpretation.latency_ms = turn.timings_ms.get("nlu", 0.0)
    return AssistantResponse(
        transcript=TranscriptOut(
            text=turn.transcript.text,
            language=turn.transcript.language,
            language_probability=turn.transcript.language_probability,
            audio_seconds=turn.transcript.audio_seconds,
        )
        if turn.transcript
        else None,
        locale=turn.locale,
        interpretation=interpretation,
        skill=turn.skill,
        done=turn.done,
        reply_text=turn.reply.text,
        reply_language=turn.reply.language,
        reply_fallback=turn.reply.fallback,
        reply_audio=base64.b64encode(turn.audio).decode("ascii") if turn.audio else None,
        reply_voice=turn.voice,
        reply_silent=turn.silent,
        timings_ms=turn.timings_ms,
    )


@router.get(
    "/v1/assistant/state",
    summary="The skills' state: alarms, timers, reminders, lists, lights, plugs",
    responses={503: _AUDIO_PROBLEMS[503]},
)
async def assistant_state(service: Service) -> dict[str, Any]:
    return _assistant(service).snapshot()


def _page(name: str) -> bytes:
    return resources.files("polynlu.serving").joinpath(f"web/{name}").read_bytes()


_TYPES = {"js": "text/javascript", "css": "text/css", "html": "text/html"}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    return HTMLResponse(_page("index.html"))


@router.get("/web/{name}", include_in_schema=False)
async def page_file(name: str) -> Response:
    if name not in ("app.js", "style.css"):
        raise ProblemError(404, "Not Found", f"no file {name}", [])
    return Response(_page(name), media_type=_TYPES[name.rsplit(".", 1)[1]])


__all__ = ["router"]
