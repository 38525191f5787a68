"""Every refusal as an RFC 9457 problem (``application/problem+json``) naming the fields at
fault: the exception handlers, and the body-size limit that answers before a body is read."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polynlu.serving.schemas import FieldError, Problem, field_path

PROBLEM_JSON = "application/problem+json"
LOCALE_MESSAGE = "is not a locale code such as en-US, de-DE or zh-Hant-TW"
PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": description}
    for code, description in (
        (400, "The body is not valid JSON."),
        (413, "The body is over the size limit."),
        (422, "A field is missing, of the wrong type, or out of its limits."),
    )
}
"""The problems a parse route may answer with, for the OpenAPI schema."""


class ProblemError(Exception):
    """Raised by a route to refuse a request with a problem document."""

    def __init__(self, status: int, title: str, detail: str, errors: Sequence[FieldError]) -> None:
        super().__init__(detail)
        self.problem = Problem(title=title, status=status, detail=detail, errors=list(errors))


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(problem.model_dump(), status_code=problem.status, media_type=PROBLEM_JSON)


def too_large(limit: int) -> JSONResponse:
    return problem_response(
        Problem(
            title="Request body too large",
            status=413,
            detail=f"the body is over the limit of {limit:,} bytes",
            errors=[FieldError(field="body", message=f"at most {limit:,} bytes")],
        )
    )


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


def add_problem_handlers(app: FastAPI, *, max_body_bytes: int) -> None:
    """Map every exception a request can raise onto a problem document."""

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
            return too_large(max_body_bytes)
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
