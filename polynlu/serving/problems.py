"""Every refusal as an RFC 9457 problem (``application/problem+json``) naming the fields at
fault: the exception handlers, and the body-size limit that answers before a body is read."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polynlu.serving.schemas import FieldError, Problem, field_path
from polynlu.text.validation import LOCALE_MESSAGE

PROBLEM_JSON = "application/problem+json"
PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": description}
    for code, description in (
        (400, "The body is not valid JSON."),
        (408, "The body did not arrive in time."),
        (413, "The body is over the size limit."),
        (415, "The body is not JSON (content-type: application/json)."),
        (422, "A field is missing, of the wrong type, or out of its limits."),
    )
}
"""The problems a parse route may answer with, for the OpenAPI schema."""


class ProblemError(Exception):
    """Raised by a route to refuse a request with a problem document."""

    def __init__(self, status: int, title: str, detail: str, errors: Sequence[FieldError]) -> None:
        super().__init__(detail)
        self.problem = Problem(title=title, status=status, detail=detail, errors=list(errors))


def check_text_lengths(texts: Sequence[str], field: str, limit: int) -> None:
    """The configured text limit (the schema only states the default): a 422 naming every
    text over it, ``field`` formatted with the text's index (``items[{}].text``)."""
    errors = [
        FieldError(
            field=field.format(index),
            message=f"has {len(text):,} characters; the limit is {limit:,}",
        )
        for index, text in enumerate(texts)
        if len(text) > limit
    ]
    if errors:
        raise ProblemError(422, "Invalid request", "text over the length limit", errors)


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


JSON_TYPES = ("application/json", "application/problem+json")
UPLOAD_TYPES = ("multipart/form-data",)


class BodyTooLarge(HTTPException):
    """A body over the limit of its route (uploads have their own)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413)
        self.limit = limit


class RequestBodyGuard:
    """Every request body: JSON (415 otherwise), at most ``limit`` bytes (413, by its
    Content-Length or, for a streamed body, as soon as it grows past the limit, so nothing
    larger is ever held), and whole within ``timeout_s`` of the request's head (408).

    Not Starlette's ``RequestBodyLimitMiddleware`` (``FastAPI(max_body_size=...)``): for an
    oversized Content-Length it replaces the response with plain text, and every refusal
    here is a problem document.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        timeout_s: float,
        uploads: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.timeout_s = timeout_s
        self.uploads = uploads or {}
        """Paths that also take multipart uploads (audio), each with its own size limit."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().decode("latin-1")
        limit = self.limit
        upload_limit = self.uploads.get(scope["path"])
        if upload_limit is not None and media_type.lower() in UPLOAD_TYPES:
            limit = upload_limit
        elif media_type.lower() not in JSON_TYPES:
            await unsupported_media_type(media_type, upload_limit is not None)(scope, receive, send)
            return
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await too_large(limit)(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        received = 0
        complete = False

        async def guarded_receive() -> Message:
            nonlocal received, complete
            if complete:  # the body is in: later receives wait for a disconnect, unbounded
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
            except TimeoutError:
                raise HTTPException(408, "Request Timeout") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > limit:
                    raise BodyTooLarge(limit)  # answered by the app's handler, as a problem
            return message

        await self.app(scope, guarded_receive, send)


def unsupported_media_type(media_type: str, uploads: bool = False) -> JSONResponse:
    shown = f"'{media_type}'" if media_type else "no content type"
    wanted = "application/json or multipart/form-data" if uploads else "application/json"
    return problem_response(
        Problem(
            title="Unsupported Media Type",
            status=415,
            detail=f"the body must be {wanted}, not {shown}",
            errors=[FieldError(field="content-type", message=f"must be {wanted}")],
        )
    )


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
            return too_large(error.limit if isinstance(error, BodyTooLarge) else max_body_bytes)
        field = {400: "body", 405: "method", 408: "body"}.get(error.status_code, "path")
        detail = str(error.detail)
        if error.status_code == 405 and error.headers:
            detail = f"Method Not Allowed: this route takes {error.headers.get('Allow', '')}"
        response = problem_response(
            Problem(
                title=str(error.detail),
                status=error.status_code,
                detail=detail,
                errors=[FieldError(field=field, message=detail)],
            )
        )
        response.headers.update(error.headers or {})  # 405's Allow
        return response

    @app.exception_handler(Exception)
    async def on_bug(_: Request, error: Exception) -> JSONResponse:
        return problem_response(
            Problem(title="Internal error", status=500, detail=type(error).__name__)
        )
