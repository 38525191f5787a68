"""Date and time questions: the time now, and the date a day falls on."""

from __future__ import annotations

from polynlu.assistant.skills.base import Skill, SkillReply, SkillRequest
from polynlu.assistant.state import AssistantState


class Clock(Skill):
    scenarios = ("datetime",)

    def handle(self, request: SkillRequest, state: AssistantState) -> SkillReply:
        day = request.when() if request.slot("date") else None
        if day is not None:
            return SkillReply("date_is", {"date": day})
        if request.slot("time_zone", "place_name"):
            return SkillReply("unsupported", done=False)  # other places' times: not yet
        return SkillReply("time_now", {"time": request.now, "date": request.now})
