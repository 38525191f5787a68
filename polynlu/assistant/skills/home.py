"""A simulated smart home: lights per room (on, off, brightness, colour) and plugs, kept in
the state, so that "dim the kitchen lights" can be checked by asking what changed."""

from __future__ import annotations

from polynlu.assistant.skills.base import Skill, SkillReply, SkillRequest
from polynlu.assistant.state import AssistantState

DIM_STEP = 30


class Home(Skill):
    scenarios = ("iot",)

    def handle(self, request: SkillRequest, state: AssistantState) -> SkillReply:
        intent = request.intent
        room = (request.slot("house_place") or "").lower()
        rooms = [room] if room else [light.room for light in state.lights()]
        shown = {"room": room or None}
        if intent.endswith("lighton"):
            state.set_lights(rooms, is_on=True)
            return SkillReply("lights_on", shown)
        if intent.endswith("lightoff"):
            state.set_lights(rooms, is_on=False)
            return SkillReply("lights_off", shown)
        if intent.endswith(("lightdim", "lightup", "lightchange")):
            colour = request.slot("color_type")
            amount = request.resolved("change_amount")
            if colour and not amount:
                state.set_lights(rooms, colour=colour.lower())
                return SkillReply("lights_colour", {**shown, "colour": colour})
            lights = {light.room: light for light in state.lights()}
            current = lights[rooms[0]].brightness if rooms[0] in lights else 100
            if amount is not None:
                level = round(float(amount))
            else:
                step = -DIM_STEP if intent.endswith("lightdim") else DIM_STEP
                level = current + step
            level = max(0, min(100, level))
            state.set_lights(rooms, brightness=level)
            return SkillReply("lights_level", {**shown, "level": level / 100})
        if intent.endswith(("wemo_on", "wemo_off")):
            device = (request.slot("device_type") or "plug").lower()
            is_on = intent.endswith("on")
            state.set_plug(device, is_on)
            return SkillReply("plug_on" if is_on else "plug_off", {"device": device})
        return SkillReply("unsupported", done=False)
