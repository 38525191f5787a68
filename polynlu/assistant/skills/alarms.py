"""Alarms, timers (alarms set for a span: "in ten minutes") and reminders."""

from __future__ import annotations

from datetime import datetime

from polynlu.assistant.resolve import slot_kind
from polynlu.assistant.skills.base import Skill, SkillReply, SkillRequest
from polynlu.assistant.state import Alarm, AssistantState


def _on_day(alarms: list[Alarm], day: datetime | None) -> list[Alarm]:
    return [a for a in alarms if day is None or a.at.date() == day.date()]


class Alarms(Skill):
    scenarios = ("alarm",)

    def handle(self, request: SkillRequest, state: AssistantState) -> SkillReply:
        kinds = ("alarm", "timer")
        if request.intent.endswith("_set"):
            span = request.resolver.span_of(request.interpretation)
            if span is not None:
                state.add_alarm("timer", request.now + span, None, request.now)
                return SkillReply("timer_set", {"duration": span})
            when = request.when()
            if when is None:
                return SkillReply("need_time", done=False)
            state.add_alarm("alarm", when, request.slot("alarm_type"), request.now)
            return SkillReply("alarm_set", {"when": when})
        pending = state.alarms(kinds, request.now)
        if request.intent.endswith("_remove"):
            when = request.when()
            chosen = [a for a in pending if when is None or a.at == when] or _on_day(pending, when)
            removed = state.remove_alarms([a.id for a in chosen])
            return SkillReply("alarms_removed", {"count": removed}, done=removed > 0)
        if not pending:
            return SkillReply("alarms_none")
        return SkillReply("alarms_list", {"count": len(pending), "items": [a.at for a in pending]})


class Reminders(Skill):
    scenarios = ("calendar",)

    def handle(self, request: SkillRequest, state: AssistantState) -> SkillReply:
        event = (
            request.slot("event_name")
            or request.unmarked_words(keep=lambda slot_type: slot_kind(slot_type) is None)
            or None
        )
        if request.intent.endswith("_set"):
            when = request.when()
            if when is None:
                return SkillReply("need_time", done=False)
            state.add_alarm("reminder", when, event, request.now)
            return SkillReply("reminder_set", {"event": event or "…", "when": when})
        pending = _on_day(state.alarms(("reminder",), request.now), request.when())
        if request.intent.endswith("_remove"):
            chosen = [
                a for a in pending if not event or (a.label or "").lower() == event.lower()
            ] or pending
            removed = state.remove_alarms([a.id for a in chosen])
            return SkillReply("reminders_removed", {"count": removed}, done=removed > 0)
        if not pending:
            return SkillReply("reminders_none")
        return SkillReply(
            "reminders_list",
            {
                "count": len(pending),
                "items": [f"{a.label or '…'} ({a.at:%Y-%m-%d %H:%M})" for a in pending],
            },
        )
