"""The filing draft: what the conversation has collected so far (see filing.py).

It is plain JSON in the FSM data under ``draft``; this model names its fields and
their types, and the JSON it writes is the one the bot has always stored.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.limits import BODY_MAX
from bot.domain.statuses import Behalf, FocusDomain, SuggestionKind
from bot.services.views import Draft
from handlers.attachments import attachments_in
from handlers.replies import Asking

DRAFT = "draft"
# The numbered steps, in order; the preview, the edit menu and the details choice
# ("redo") are states too, but not numbered.
STEPS = ("domain", "kind", "title", "details", "behalf", "location")
# What an edit may change, saved before it starts so that Back can undo it.
FIELDS = (
    "domain",
    "kind",
    "title",
    "body",
    "attachments",
    "behalf",
    "location_text",
    "latitude",
    "longitude",
)
# The steps answered with a button, and the values their buttons may carry.
CHOICES: dict[str, type[StrEnum]] = {
    "domain": FocusDomain,
    "kind": SuggestionKind,
    "behalf": Behalf,
}

# What became of one photo or document sent at the details step.
Outcome = Literal["added", "full", "long"]


class Album(BaseModel):
    """The parts of one album seen so far: they share one answer, edited as each arrives."""

    id: str = ""
    # The answer, once it is known to be sent.
    message: int | None = None
    added: int = 0
    full: int = 0
    long: int = 0
    answered: bool = False

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


class FilingDraft(Asking):
    """A suggestion being filed, kept under ``draft`` in the FSM data; ``ask`` (from
    Asking) marks the question whose message id ``prompt`` is waiting for."""

    # ``key`` names the flow's place in the FSM data, so the draft's own key (stored
    # as "key" all the same) is ``draft_key`` here.
    model_config = ConfigDict(serialize_by_alias=True)
    key: ClassVar[str] = DRAFT

    draft_key: str = Field("", alias="key")
    step: str = "domain"
    domain: FocusDomain | None = None
    kind: SuggestionKind | None = None
    title: str = ""
    body: str = ""
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    behalf: Behalf | None = None
    location_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    # Set while one field is changed from the preview: its step returns there, and
    # ``stash`` holds the FIELDS as they were, for Back to undo the change.
    editing: bool = False
    stash: dict[str, Any] | None = None
    # The message whose inline buttons belong to the current step.
    prompt: int | None = None
    # The album being acknowledged in one edited message.
    album: Album | None = None

    def begin_change(self) -> None:
        self.editing = True
        self.stash = self.model_dump(mode="json", include=set(FIELDS))

    def undone(self) -> FilingDraft:
        """The draft as it was before the change from the preview began."""
        return FilingDraft.model_validate({**self.model_dump(mode="json"), **(self.stash or {})})

    def choose(self, step: str, value: str) -> bool:
        """Take the button's ``value`` for ``step``; False if it is no such choice."""
        allowed = CHOICES[step]
        if value not in {member.value for member in allowed}:
            return False
        setattr(self, step, allowed(value))
        return True

    def chosen(self) -> tuple[FocusDomain, SuggestionKind, Behalf]:
        """The domain, kind and behalf, which the preview and filing come after."""
        if self.domain is None or self.kind is None or self.behalf is None:
            raise ValueError("the draft has not been chosen through yet")
        return self.domain, self.kind, self.behalf

    def forget_location(self) -> None:
        self.location_text = self.latitude = self.longitude = None


def new_draft() -> FilingDraft:
    return FilingDraft(key=uuid.uuid4().hex)


def to_service_draft(draft: FilingDraft) -> Draft:
    domain, kind, behalf = draft.chosen()
    return Draft(
        kind=kind,
        domain=domain,
        title=draft.title,
        body=draft.body,
        behalf=behalf,
        location_text=draft.location_text or None,
        latitude=draft.latitude,
        longitude=draft.longitude,
        attachments=attachments_in(draft.attachments),
        key=draft.draft_key,
    )


def room_left(body: str) -> int:
    return max(0, BODY_MAX - len(body) - (2 if body else 0))


def next_step(step: str, draft: FilingDraft) -> str:
    if draft.editing or step == STEPS[-1]:
        return "preview"
    return STEPS[STEPS.index(step) + 1]


def previous_step(step: str, draft: FilingDraft) -> str:
    if step == "redo":
        return "edit"
    if step == "edit" or draft.editing:
        return "preview"
    if step == "preview":
        return STEPS[-1]
    return STEPS[max(0, STEPS.index(step) - 1)]
