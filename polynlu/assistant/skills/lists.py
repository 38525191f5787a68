"""Lists: create, add, remove, read. The list is the ``list_name`` slot; the item, which
MASSIVE does not mark, is what the utterance says outside its slots and filler words."""

from __future__ import annotations

from polynlu.assistant.skills.base import Skill, SkillReply, SkillRequest
from polynlu.assistant.state import AssistantState

DEFAULT_LIST = "shopping"


class Lists(Skill):
    scenarios = ("lists",)

    def handle(self, request: SkillRequest, state: AssistantState) -> SkillReply:
        named = request.slot("list_name")
        name = (named or _latest(state) or DEFAULT_LIST).lower()
        item = request.unmarked_words()
        if request.intent.endswith("createoradd"):
            if item:
                state.add_item(name, item, request.now)
                return SkillReply("list_added", {"item": item, "list": name})
            state.create_list(name, request.now)
            return SkillReply("list_created", {"list": name})
        if name not in state.list_names():
            return SkillReply("list_unknown", {"list": name}, done=False)
        if request.intent.endswith("remove"):
            if item and state.remove_item(name, item):
                return SkillReply("list_item_removed", {"item": item, "list": name})
            state.delete_list(name)
            return SkillReply("list_deleted", {"list": name})
        items = state.items(name)
        if not items:
            return SkillReply("list_empty", {"list": name})
        return SkillReply("list_items", {"list": name, "items": items, "count": len(items)})


def _latest(state: AssistantState) -> str | None:
    names = state.list_names()
    return names[-1] if names else None
