"""What a running service holds: the loaded model, its micro-batcher, its description and
metrics. Built once per worker, kept on ``app.state.service``, handed to routes by ``service``
(a FastAPI dependency), so routes never reach for globals."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from polynlu.assistant.audio import AudioLimits
from polynlu.assistant.pipeline import Assistant, AssistantSettings
from polynlu.learning.log import InteractionLog
from polynlu.learning.rewrites import REWRITES_FILE, RewriteTable
from polynlu.models.base import NLUModel, model_size_bytes
from polynlu.models.config import config_digest
from polynlu.nlu import NLU
from polynlu.serving.batching import MicroBatcher
from polynlu.serving.metrics import ServiceMetrics
from polynlu.serving.schemas import CalibrationOut, ModelInfo, ModelRef, ParseRequest
from polynlu.serving.settings import ServeSettings
from polynlu.types import Interpretation


@dataclass
class ServiceState:
    settings: ServeSettings
    nlu: NLU
    reference: ModelRef
    """The model's folder name, and a version that changes whenever its config does
    (retraining or recalibrating)."""
    info: ModelInfo
    metrics: ServiceMetrics
    batcher: MicroBatcher[ParseRequest, Interpretation]
    born: float = field(default_factory=time.monotonic)
    log: InteractionLog | None = None
    """Where requests and feedback are recorded (``--log``), if anywhere."""
    learning: threading.Lock = field(default_factory=threading.Lock)
    """Held while examples are added: one addition at a time."""
    assistant: Assistant | None = None
    """The voice assistant around the same NLU (``--no-assistant``: None)."""

    def refresh(self) -> None:
        """Describe the model again after it changed (added intents, a new version)."""
        self.reference, self.info = describe(Path(self.settings.model), self.nlu.model)

    @classmethod
    def load(cls, settings: ServeSettings) -> ServiceState:
        folder = Path(settings.model)
        nlu = NLU.load(folder, detect_language=settings.detect_language, lexicon=settings.lexicon)
        if (folder / REWRITES_FILE).is_file():
            rewrites = RewriteTable.load(folder)
            nlu.rewriter = rewrites.target_of
        model = nlu.model
        model.set_threads(settings.threads)
        if settings.out_of_scope_threshold is not None:
            model.calibration = replace(
                model.calibration, out_of_scope_threshold=settings.out_of_scope_threshold
            )
        reference, info = describe(folder, model)
        metrics = ServiceMetrics()

        def parse_items(items: list[ParseRequest]) -> list[Interpretation]:
            return nlu.parse_batch([i.text for i in items], [i.locale for i in items])

        batcher: MicroBatcher[ParseRequest, Interpretation] = MicroBatcher(
            parse_items,
            max_batch=settings.micro_batch,
            max_wait_ms=settings.micro_batch_wait_ms,
            on_batch=metrics.observe_batch,
        )
        log = (
            InteractionLog(
                settings.log,
                log_text=settings.log_text,
                retention_days=settings.log_retention_days,
            )
            if settings.log
            else None
        )
        assistant = (
            Assistant(
                nlu,
                AssistantSettings(
                    state=settings.assistant_state or ":memory:",
                    speak=settings.speak,
                    threads=settings.threads,
                    audio_limits=AudioLimits(
                        max_bytes=settings.max_audio_bytes,
                        max_seconds=settings.max_audio_seconds,
                    ),
                ),
            )
            if settings.assistant
            else None
        )
        return cls(settings, nlu, reference, info, metrics, batcher, log=log, assistant=assistant)


def describe(folder: Path, model: NLUModel) -> tuple[ModelRef, ModelInfo]:
    """What the service says of its model: in every answer, and at ``/v1/model``."""
    reference = ModelRef(name=folder.resolve().name, version=config_digest(folder))
    info = ModelInfo(
        name=reference.name,
        version=reference.version,
        kind=model.kind,
        backbone=model.backbone_name,
        intents=model.intents,
        slot_types=model.slot_types,
        train_locales=model.train_locales,
        parameters=model.parameter_count(),
        size_bytes=model_size_bytes(folder),
        calibration=CalibrationOut(
            temperature=model.calibration.temperature,
            out_of_scope_threshold=model.calibration.out_of_scope_threshold,
        ),
    )
    return reference, info


def _service(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


Service = Annotated[ServiceState, Depends(_service)]
"""A route parameter typed ``Service`` receives the worker's ``ServiceState``."""
