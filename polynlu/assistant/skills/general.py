"""Greetings, and the plug-in point for what needs the internet.

``NotConnected`` answers every scenario whose service polynlu does not ship (weather, news,
music...) by saying so. To connect one, register a skill for its scenario: the router
prefers any registered skill over ``NotConnected`` (docs/assistant.md shows one).
"""

from __future__ import annotations

from polynlu.assistant.skills.base import Skill, SkillReply, SkillRequest
from polynlu.assistant.state import AssistantState

ONLINE_SCENARIOS = (
    "weather",
    "news",
    "music",
    "play",
    "audio",
    "social",
    "email",
    "transport",
    "takeaway",
    "recommendation",
    "cooking",
    "qa",
    "general",
)
"""MASSIVE's scenarios whose answers live on the internet (``qa`` and ``general`` here only
for the intents no local skill serves: facts, definitions, stocks, currencies, jokes)."""


class General(Skill):
    scenarios = ("general",)
    intents = ("general_greet",)

    def handle(self, request: SkillRequest, state: AssistantState) -> SkillReply:
        return SkillReply("greet")


class NotConnected(Skill):
    scenarios = ONLINE_SCENARIOS

    def handle(self, request: SkillRequest, state: AssistantState) -> SkillReply:
        return SkillReply(
            "not_connected", {"service": request.intent.replace("_", " ")}, done=False
        )
