"""The assistant's skills: one module each, registered in ``SKILLS`` by name."""

from polynlu.assistant.skills.base import (
    SKILLS,
    Skill,
    SkillReply,
    SkillRequest,
    scenario_of,
)

SKILLS.register_lazy(
    "alarms", "polynlu.assistant.skills.alarms:Alarms", summary="alarms and timers"
)
SKILLS.register_lazy(
    "reminders", "polynlu.assistant.skills.alarms:Reminders", summary="calendar reminders"
)
SKILLS.register_lazy("lists", "polynlu.assistant.skills.lists:Lists", summary="lists")
SKILLS.register_lazy(
    "home", "polynlu.assistant.skills.home:Home", summary="simulated lights and plugs"
)
SKILLS.register_lazy("clock", "polynlu.assistant.skills.clock:Clock", summary="date and time")
SKILLS.register_lazy(
    "maths", "polynlu.assistant.skills.maths:Maths", summary="arithmetic and unit conversion"
)
SKILLS.register_lazy("general", "polynlu.assistant.skills.general:General", summary="greetings")
SKILLS.register_lazy(
    "not_connected",
    "polynlu.assistant.skills.general:NotConnected",
    summary="what needs the internet: weather, news, music...",
)

__all__ = ["SKILLS", "Skill", "SkillReply", "SkillRequest", "scenario_of"]
