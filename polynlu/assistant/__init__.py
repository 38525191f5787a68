"""The voice assistant around the NLU: speech recognition (``asr``), slot resolution
(``resolve``), skills with state (``skills``, ``state``), replies (``replies``), speech
(``tts``), joined by ``pipeline.Assistant``."""

from polynlu.assistant.pipeline import Assistant, AssistantSettings, Turn

__all__ = ["Assistant", "AssistantSettings", "Turn"]
