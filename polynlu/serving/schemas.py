"""The HTTP API's request and response models: the contract, as the OpenAPI schema shows it.

Validation rules live here, so that every bad input is refused with the name of its field.
The configurable limits (text length, batch size) are checked by the app against its
``ServeSettings``; the defaults below are what the schema advertises.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.config import JsonDict

from polynlu.learning.log import Outcome
from polynlu.text.validation import (
    CONTROL_CHARACTERS,
    LOCALE_PATTERN,
    MAX_TEXT_CHARS,
    TEXT_PATTERN,
    text_problem,
)

DEFAULT_MAX_TEXT_CHARS = MAX_TEXT_CHARS
DEFAULT_MAX_BATCH_ITEMS = 64
MAX_ID_CHARS = 200
_EXAMPLE: JsonDict = {"text": "wake me up at five am this friday", "locale": "en-US"}


def _check_text(text: str) -> str:
    # The length limit is the server's setting, checked by the route with the field's name.
    problem = text_problem(text, max_chars=len(text))
    if problem:
        raise ValueError(problem)
    return text


class ParseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    text: str = Field(
        min_length=1,
        description=f"The utterance: at most {DEFAULT_MAX_TEXT_CHARS:,} characters by default "
        f"(`polynlu serve --max-text-chars`), valid UTF-8 (no unpaired surrogates), "
        f"{CONTROL_CHARACTERS}, not only white space.",
        json_schema_extra={"pattern": TEXT_PATTERN},
    )
    locale: str | None = Field(
        default=None,
        pattern=LOCALE_PATTERN,
        description="A locale such as `de-DE`; null or absent to detect the language.",
    )
    session_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_ID_CHARS,
        description="The conversation this request belongs to, as the client names it: "
        "the interaction log (`polynlu serve --log`) keeps it hashed, so that rephrases "
        "within a session can be found.",
    )
    timestamp: datetime | None = Field(
        default=None,
        description="When the client sent the request (ISO 8601), kept in the log beside "
        "the time the service answered.",
    )

    @field_validator("text")
    @classmethod
    def check_text(cls, text: str) -> str:
        return _check_text(text)


class BatchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"items": [_EXAMPLE, {"text": "明日の天気は"}]}]},
    )

    items: list[ParseRequest] = Field(
        min_length=1,
        description=f"At most {DEFAULT_MAX_BATCH_ITEMS} utterances by default "
        "(`polynlu serve --max-batch-items`); answered in the same order.",
    )


class ModelRef(BaseModel):
    name: str
    version: str


MAX_EXAMPLES_PER_REQUEST = 100


class ExamplesRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "examples": ["book a table for [people : two]", "reserve a table"],
                    "locale": "en-US",
                }
            ]
        },
    )

    examples: list[str] = Field(
        min_length=1,
        max_length=MAX_EXAMPLES_PER_REQUEST,
        description="Utterances of the intent; slots marked as `[slot : value]`, with the "
        "model's slot types. Each one under the same rules as a parse request's `text`.",
    )
    locale: str | None = Field(
        default=None,
        pattern=LOCALE_PATTERN,
        description="The examples' locale; null or absent to detect each one's language.",
    )

    @field_validator("examples")
    @classmethod
    def check_examples(cls, examples: list[str]) -> list[str]:
        for text in examples:
            _check_text(text)
        return examples


class ExamplesResponse(BaseModel):
    intent: str
    added: int = Field(description="Examples added by this request.")
    new_intent: bool = Field(description="Whether the intent was not in the model before.")
    examples_since_training: int = Field(
        description="Examples of this intent added since the model was trained."
    )
    model: ModelRef = Field(description="The model's new version, which answers from now on.")


class IntentScoreOut(BaseModel):
    intent: str
    confidence: float


class SlotOut(BaseModel):
    slot: str
    value: str
    start: int = Field(description="Character offset of the value in `text` (inclusive).")
    end: int = Field(description="Character offset of the value's end in `text` (exclusive).")
    confidence: float | None
    normalized: str | None = Field(
        default=None,
        description="The canonical value the training data's synonyms give `value`, if any.",
    )
    resolved: str | None = Field(
        default=None,
        description="What the value means, where the assistant resolved it: ISO 8601 for a "
        "date or time (`2026-11-27T05:00`), a number for an amount (`50`). Set by "
        "`/v1/assistant`; `/v1/parse` leaves it null.",
    )


class ParseResponse(BaseModel):
    text: str
    locale: str | None
    locale_source: Literal["given", "detected"] | None = Field(
        description="Whether `locale` came with the request or from language identification."
    )
    zero_shot: bool | None = Field(
        description="True when the model had no training data in this locale's language."
    )
    intent: str
    confidence: float = Field(description="Calibrated probability of `intent`.")
    out_of_scope: bool = Field(description="`confidence` is below the out-of-scope threshold.")
    alternatives: list[IntentScoreOut]
    slots: list[SlotOut]
    model: ModelRef
    latency_ms: float
    request_id: str = Field(
        description="This answer's id: `POST /v1/feedback` takes it to say how it went."
    )
    rewritten_from: str | None = Field(
        default=None,
        description="The text as sent, where a rewrite learned from use (the model folder's "
        "`rewrites.json`) replaced it; `text` and the slots are then the rewrite's.",
    )


class BatchResponse(BaseModel):
    items: list[ParseResponse]
    latency_ms: float


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"request_id": "3f2a…", "outcome": "failure"}]},
    )

    request_id: str = Field(
        min_length=1, max_length=MAX_ID_CHARS, description="A parse answer's `request_id`."
    )
    outcome: Outcome = Field(
        description="How the request went for the user, where the client knows it."
    )


class FeedbackResponse(BaseModel):
    request_id: str
    outcome: str


class HealthResponse(BaseModel):
    status: Literal["ok"]
    model: ModelRef
    uptime_s: float


class CalibrationOut(BaseModel):
    temperature: float
    out_of_scope_threshold: float


class ModelInfo(BaseModel):
    name: str
    version: str
    kind: str
    backbone: str | None
    intents: list[str]
    slot_types: list[str]
    train_locales: list[str]
    parameters: int
    size_bytes: int
    calibration: CalibrationOut


class FieldError(BaseModel):
    field: str = Field(description="Where in the request: `text`, `items[3].locale`, `body`.")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem detail, with the fields at fault."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []


def field_path(location: tuple[str | int, ...] | list[str | int]) -> str:
    """``("body", "items", 3, "text")`` → ``items[3].text``."""
    parts = [part for part in location if part != "body"] or ["body"]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


class AssistantTextRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "wake me up at seven tomorrow"}]},
    )

    text: str = Field(min_length=1, description="A typed request, under the parse rules.")
    locale: str | None = Field(
        default=None,
        pattern=LOCALE_PATTERN,
        description="The request's locale; null or absent to detect its language.",
    )

    @field_validator("text")
    @classmethod
    def check_text(cls, text: str) -> str:
        return _check_text(text)


class TranscriptOut(BaseModel):
    text: str
    language: str = Field(description="The spoken language Whisper heard (`de`).")
    language_probability: float
    audio_seconds: float


class AssistantResponse(BaseModel):
    transcript: TranscriptOut | None = Field(description="What was heard; null for text.")
    locale: str | None = Field(description="The locale the request was understood in.")
    interpretation: ParseResponse = Field(
        description="The NLU's answer, with `resolved` slot values (dates, times, numbers)."
    )
    skill: str = Field(description="The skill that answered (`alarms`, `not_connected`...).")
    done: bool = Field(description="Whether the skill did what was asked.")
    reply_text: str
    reply_language: str = Field(description="The language `reply_text` is in.")
    reply_fallback: bool = Field(
        description="The request's language has no reply templates: the reply is in English."
    )
    reply_audio: str | None = Field(
        description="The reply spoken by espeak-ng: a WAV file, base64-encoded."
    )
    reply_voice: str | None = Field(description="The espeak-ng voice that spoke it.")
    reply_silent: str | None = Field(
        default=None,
        description="Why the reply has no audio although speech is on (no espeak-ng voice "
        "reads its language, as for Japanese and Chinese).",
    )
    timings_ms: dict[str, float] = Field(
        description="Per stage: decode, asr, nlu, skill (resolution, skill, reply text), tts, "
        "total."
    )
