"""``ServeSettings``: everything a worker needs to build the service, and its defaults.

Kept apart from the app so that the CLI can show the defaults without importing FastAPI, and
passed to uvicorn's worker processes as JSON in an environment variable.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from polynlu.serving.schemas import DEFAULT_MAX_BATCH_ITEMS, DEFAULT_MAX_TEXT_CHARS

SETTINGS_ENVIRONMENT = "POLYNLU_SERVE_SETTINGS"


@dataclass(frozen=True)
class ServeSettings:
    model: str
    """The model folder (a trained or exported polynlu model)."""
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    max_batch_items: int = DEFAULT_MAX_BATCH_ITEMS
    max_body_bytes: int = 1_000_000
    micro_batch: int = 64
    """Most utterances in one model call."""
    micro_batch_wait_ms: float = 0.0
    """How long the first request of a micro-batch waits for company (requests that arrive
    while the model is busy batch up anyway)."""
    out_of_scope_threshold: float | None = None
    """Overrides the model's calibrated threshold."""
    threads: int | None = None
    """Intra-op threads for the model in each worker (None: the runtime's default)."""
    detect_language: bool = True
    header_timeout_s: float = 10.0
    """A connection must send a whole request line and headers within this time."""
    body_timeout_s: float = 30.0
    """A request's body must arrive whole within this time of its head."""
    max_connections: int = 512
    """Open connections one worker accepts; past it, new ones get 503 and are closed."""
    shutdown_timeout_s: float = 10.0
    """On SIGTERM, how long in-flight requests may take before connections are dropped."""
    accept_examples: bool = False
    """Let ``POST /v1/intents/{name}/examples`` change the model (and its folder)."""
    log: str | None = None
    """A DuckDB file to record every request and feedback in (``learning.log``)."""
    log_text: bool = True
    """Keep the requests' text in the log; False keeps only its keyed hash."""
    log_retention_days: float | None = None
    """Delete logged rows older than this (None keeps them)."""
    assistant: bool = True
    """Serve the voice assistant: ``POST /v1/assistant``, its state, and the web page at ``/``."""
    assistant_state: str | None = None
    """The DuckDB file the assistant's skills keep alarms, lists and lights in (None: memory)."""
    lexicon: str | None = None
    """Bilingual lexicons whose languages' requests are also read into English word for
    word (``NLU.reader``)."""
    max_audio_bytes: int = 5_000_000
    max_audio_seconds: float = 30.0
    speak: bool = True
    """Answer with the reply spoken (espeak-ng WAV) as well as written."""

    def to_environment(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> ServeSettings:
        raw = os.environ.get(SETTINGS_ENVIRONMENT)
        if not raw:
            raise RuntimeError(f"{SETTINGS_ENVIRONMENT} is not set; start with `polynlu serve`")
        return cls(**json.loads(raw))
