"""The assistant, end to end: speech → transcript → interpretation → resolved slots → skill
→ reply text → reply speech, with each stage timed.

``Assistant.load(model_folder)`` → ``handle_text(text)`` or ``handle_audio(wav_bytes)`` → a
``Turn``. The NLU is polynlu's; speech recognition loads on the first audio request, so a
text-only assistant never pays for Whisper.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from polynlu.assistant.asr import PACKAGED_SIZE, SpeechRecognizer, Transcript
from polynlu.assistant.audio import AudioLimits, decode
from polynlu.assistant.replies import Reply, render, templates_for
from polynlu.assistant.resolve import SlotResolver
from polynlu.assistant.skills import SKILLS, Skill, SkillReply, SkillRequest
from polynlu.assistant.state import AssistantState
from polynlu.langid import LanguageIdentifier, language_of
from polynlu.nlu import NLU
from polynlu.types import Interpretation


@dataclass(frozen=True)
class AssistantSettings:
    state: str = ":memory:"
    """The DuckDB file the skills keep their state in (``:memory:``: forgotten on exit)."""
    speak: bool = True
    """Speak the reply (espeak-ng WAV)."""
    whisper: str = PACKAGED_SIZE
    """Whisper size: ``base`` ships with polynlu; others download from the Hub."""
    threads: int | None = None
    """CPU threads for speech recognition (None: all)."""
    audio_limits: AudioLimits = field(default_factory=AudioLimits)


@dataclass(frozen=True)
class Turn:
    """One request answered: what was heard, understood, done and said."""

    transcript: Transcript | None
    interpretation: Interpretation
    """Slots carry ``resolved`` values where the resolver found one."""
    skill: str
    reply: Reply
    done: bool
    """The skill did what was asked (False: a missing time, an unknown list, offline)."""
    audio: bytes | None
    """The reply spoken, as WAV; None unless speaking."""
    voice: str | None
    silent: str | None
    """Why a reply that should have been spoken was not (no voice reads its language)."""
    timings_ms: dict[str, float]
    """Per stage: ``decode``, ``asr``, ``nlu``, ``skill`` (resolution, skill and reply
    text), ``tts``, and ``total``."""

    @property
    def locale(self) -> str | None:
        return self.interpretation.locale


class Assistant:
    def __init__(
        self,
        nlu: NLU,
        settings: AssistantSettings | None = None,
        *,
        skills: Sequence[Skill] = (),
        now: Callable[[], datetime] = datetime.now,
    ) -> None:
        """``skills``: your own, tried before the built-in ones (``SKILLS``), so a skill for
        ``weather`` replaces the not-connected answer."""
        self.nlu = nlu
        self.settings = settings or AssistantSettings()
        self.now = now
        self.resolver = SlotResolver(now)
        self.state = AssistantState(self.settings.state)
        # Yours first, then the built-ins in registration order, the not-connected answer last.
        builtin = sorted(SKILLS.names(), key=lambda name: name == "not_connected")
        self.skills: list[tuple[str, Skill]] = [
            *((type(s).__name__.lower(), s) for s in skills),
            *((name, SKILLS.get(name)()) for name in builtin),
        ]
        self._identifier = nlu.identifier or LanguageIdentifier(nlu.model.train_locales)
        self._recognizer: SpeechRecognizer | None = None
        self._loading = threading.Lock()

    @classmethod
    def load(cls, model: str | Path, settings: AssistantSettings | None = None) -> Assistant:
        return cls(NLU.load(model), settings)

    @property
    def recognizer(self) -> SpeechRecognizer:
        with self._loading:
            if self._recognizer is None:
                languages = {language_of(loc) for loc in self.nlu.model.train_locales}
                self._recognizer = SpeechRecognizer(
                    self.settings.whisper,
                    threads=self.settings.threads,
                    languages=languages or None,
                )
            return self._recognizer

    def handle_audio(self, data: bytes, locale: str | None = None) -> Turn:
        """A recorded request (WAV, WebM or Ogg); ``locale`` where the caller knows it,
        else the spoken language decides it."""
        started = time.perf_counter()
        audio = decode(data, self.settings.audio_limits)
        decoded = time.perf_counter()
        spoken = language_of(locale) if locale else None
        transcript = self.recognizer.transcribe(audio.samples, language=spoken)
        heard = time.perf_counter()
        chosen = locale or self._identifier.locale_of(transcript.language)
        timings = {"decode": _ms(decoded - started), "asr": _ms(heard - decoded)}
        return self._answer(
            transcript.text,
            chosen,
            transcript,
            timings,
            started,
            source=None if locale else "detected",
        )

    def handle_text(self, text: str, locale: str | None = None) -> Turn:
        return self._answer(text, locale, None, {}, time.perf_counter(), source=None)

    def _answer(
        self,
        text: str,
        locale: str | None,
        transcript: Transcript | None,
        timings: dict[str, float],
        started: float,
        *,
        source: str | None,
    ) -> Turn:
        mark = time.perf_counter()
        interpretation = self.nlu.parse(text, locale) if text.strip() else _nothing(locale)
        if source is not None:
            interpretation = replace(interpretation, locale_source=source)
        timings["nlu"] = _ms(time.perf_counter() - mark)
        mark = time.perf_counter()
        interpretation, skill_name, answer, reply = self.respond(interpretation)
        timings["skill"] = _ms(time.perf_counter() - mark)
        audio = voice = silent = None
        if self.settings.speak:
            from polynlu.assistant.tts import speak, why_silent

            mark = time.perf_counter()
            spoken_in = reply.language if reply.fallback else interpretation.locale
            silent = why_silent(spoken_in)
            if silent is None:
                audio, voice = speak(reply.text, spoken_in)
            timings["tts"] = _ms(time.perf_counter() - mark)
        timings["total"] = _ms(time.perf_counter() - started)
        return Turn(
            transcript,
            interpretation,
            skill_name,
            reply,
            answer.done,
            audio,
            voice,
            silent,
            timings,
        )

    def respond(
        self, interpretation: Interpretation
    ) -> tuple[Interpretation, str, SkillReply, Reply]:
        """What the assistant does with a meaning, however it was reached: the slots
        resolved, the skill that served it, its reply, and the reply worded."""
        interpretation = self.resolver.resolve(interpretation)
        skill_name, answer = self._run_skill(interpretation)
        return interpretation, skill_name, answer, render(answer, interpretation.locale)

    def _run_skill(self, interpretation: Interpretation) -> tuple[str, SkillReply]:
        if interpretation.out_of_scope or not interpretation.intent:
            return "none", SkillReply("out_of_scope", done=False)
        language = language_of(interpretation.locale) if interpretation.locale else "en"
        request = SkillRequest(
            interpretation,
            self.now(),
            self.resolver,
            templates_for(language).filler_words,
        )
        for name, skill in self.skills:
            if skill.serves(interpretation.intent):
                return name, skill.handle(request, self.state)
        return "none", SkillReply("unsupported", done=False)

    def snapshot(self) -> dict[str, Any]:
        """The skills' state: alarms, lists, lights and plugs."""
        return self.state.snapshot(self.now())

    def close(self) -> None:
        self.state.close()


def _nothing(locale: str | None) -> Interpretation:
    """What silence means: no intent (the assistant says it did not understand)."""
    return Interpretation(text="", intent="", confidence=0.0, locale=locale, out_of_scope=True)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
