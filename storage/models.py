"""The schema: SQLAlchemy 2 typed models.

Conventions: every constraint has a predictable name (so migrations can refer to it
on both SQLite and PostgreSQL), times are aware UTC, dates are the office's local
dates, and Telegram ids are 64-bit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.domain.lifecycle import Action
from bot.domain.names import Name
from bot.domain.point_requests import RequestStatus
from bot.domain.rectifications import RectStatus
from bot.domain.roles import Role
from bot.domain.statuses import (
    ApplicationStatus,
    AttachmentKind,
    Behalf,
    DayKind,
    FocusDomain,
    HostKind,
    InviteKind,
    ObserverCategory,
    ObserverStatus,
    RatingValue,
    SuggestionKind,
    SuggestionStatus,
)
from storage import figure_triggers
from storage.types import UTCDateTime, enum_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64 bits.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TelegramId = sa.BigInteger()


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON()}


class Created:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TelegramUser(Created, Base):
    """Anyone who has written to the bot; the id is Telegram's user id."""

    __tablename__ = "telegram_users"

    id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(sa.String(256), default="")
    last_name: Mapped[str | None] = mapped_column(sa.String(256))
    username: Mapped[str | None] = mapped_column(sa.String(64))
    # What the client reports, and what the person chose with /lang (wins if set).
    language_code: Mapped[str | None] = mapped_column(sa.String(16))
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    blocked: Mapped[bool] = mapped_column(default=False)
    blocked_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Named:
    """A place's name in Chinese and, optionally, in English (``bot.domain.names``): points
    and departments have one, and so will the offices."""

    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str | None] = mapped_column(sa.String(200))

    @property
    def naming(self) -> Name:
        return Name(self.name, self.name_en)


class ChatLanguage(Base):
    """The language the bot speaks in a group (the admin group), which its admins chose
    with /lang; a group without one speaks the deployment's default language."""

    __tablename__ = "chat_languages"

    chat_id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    locale: Mapped[str] = mapped_column(sa.String(16))
    set_by: Mapped[int | None] = mapped_column(TelegramId)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Office(Created, Named, Base):
    """An office of the scheme (``bot.domain.offices``): the city's, a district's.

    Its code starts its items' references; its admins are its group's creator and
    administrators. ``bind_code`` is the one-time code of the link that binds a group
    to an office not yet bound (``t.me/<bot>?startgroup=<code>``).
    """

    __tablename__ = "offices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(8), unique=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("offices.id"), index=True)
    chat_id: Mapped[int | None] = mapped_column(TelegramId, unique=True)
    bind_code: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    bind_expires_at: Mapped[datetime | None]
    bound_at: Mapped[datetime | None]
    bound_by: Mapped[int | None] = mapped_column(TelegramId)
    created_by: Mapped[int | None] = mapped_column(TelegramId)


# Every deployment has its home office from the start (bot.domain.offices.HOME): rows
# written before offices existed, and by code that names none, are its. Its code and
# group follow JURISDICTION_CODE and ADMIN_CHAT_ID while it is the only office.
def home_office(dialect: str) -> list[str]:
    """The statements that make the home office in an empty ``offices`` table."""
    now = "timezone('utc', now())" if dialect == "postgresql" else "CURRENT_TIMESTAMP"
    made = [f"INSERT INTO offices (id, code, name, created_at) VALUES (1, 'WZ', '', {now})"]
    if dialect == "postgresql":  # the id was given: the sequence is told
        made.append("SELECT setval(pg_get_serial_sequence('offices', 'id'), 1)")
    return made


for _dialect in ("sqlite", "postgresql"):
    for _statement in home_office(_dialect):
        sa.event.listen(
            Office.__table__,
            "after_create",
            sa.DDL(_statement).execute_if(dialect=_dialect),  # type: ignore[no-untyped-call]
        )


class InOffice:
    """A row that belongs to one office, the home office unless said otherwise."""

    office_id: Mapped[int] = mapped_column(
        sa.ForeignKey("offices.id"), index=True, default=1, server_default=sa.text("1")
    )


class Point(Created, Named, InOffice, Base):
    """An observation point (法治观测点)."""

    __tablename__ = "points"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    domain: Mapped[FocusDomain] = mapped_column(enum_column(FocusDomain))
    host_kind: Mapped[HostKind] = mapped_column(enum_column(HostKind))
    host_organisation: Mapped[str] = mapped_column(sa.String(200), default="")
    town: Mapped[str] = mapped_column(sa.String(100), default="")
    street: Mapped[str] = mapped_column(sa.String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    closed_at: Mapped[datetime | None]


class Observer(Created, InOffice, Base):
    """An observer (法治观察员), whether or not they have linked a Telegram account."""

    __tablename__ = "observers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str] = mapped_column(sa.String(32), default="")
    category: Mapped[ObserverCategory] = mapped_column(enum_column(ObserverCategory))
    point_id: Mapped[int | None] = mapped_column(sa.ForeignKey("points.id"), index=True)
    recommending_unit: Mapped[str] = mapped_column(sa.String(200), default="")
    resume: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[ObserverStatus] = mapped_column(
        enum_column(ObserverStatus), default=ObserverStatus.NOMINATED, index=True
    )
    term_start: Mapped[date | None]
    term_end: Mapped[date | None]
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("telegram_users.id"), unique=True)
    appointed_at: Mapped[datetime | None]
    suspended_at: Mapped[datetime | None]

    point: Mapped[Point | None] = relationship(lazy="raise")


class Application(Created, InOffice, Base):
    """A stranger's request to become an observer, decided by the office."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("telegram_users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str] = mapped_column(sa.String(32))
    recommending_unit: Mapped[str] = mapped_column(sa.String(200), default="")
    category: Mapped[ObserverCategory] = mapped_column(enum_column(ObserverCategory))
    desired_point_id: Mapped[int | None] = mapped_column(sa.ForeignKey("points.id"))
    resume: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[ApplicationStatus] = mapped_column(
        enum_column(ApplicationStatus), default=ApplicationStatus.PENDING, index=True
    )
    decided_by: Mapped[int | None] = mapped_column(TelegramId)
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(sa.Text)
    observer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("observers.id"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Department(Created, Named, InOffice, Base):
    """A district department (区级有关部门) that implements adopted items."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    active: Mapped[bool] = mapped_column(default=True)


class Liaison(Created, Base):
    """A department's liaison (部门联络员): a Telegram user acting for the department."""

    __tablename__ = "liaisons"
    __table_args__ = (sa.UniqueConstraint("department_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("telegram_users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    active: Mapped[bool] = mapped_column(default=True)


class Invite(Created, Base):
    """A one-time deep-link code: makes its redeemer an observer or a liaison."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[InviteKind] = mapped_column(enum_column(InviteKind))
    point_id: Mapped[int | None] = mapped_column(sa.ForeignKey("points.id"))
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    # An invite may be made for an observer already on file (nominated by a unit).
    observer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("observers.id"))
    created_by: Mapped[int | None] = mapped_column(TelegramId)
    expires_at: Mapped[datetime]
    used_by: Mapped[int | None] = mapped_column(sa.ForeignKey("telegram_users.id"))
    used_at: Mapped[datetime | None]


class Suggestion(Created, InOffice, Base):
    """A suggestion, opinion or problem filed by an observer: the heart of the scheme."""

    __tablename__ = "suggestions"
    __table_args__ = (
        sa.Index("ix_suggestions_status_decision_due", "status", "decision_due"),
        # Periods select by filing time: a quarter's items, an observer's year.
        sa.Index("ix_suggestions_submitted_at", "submitted_at"),
        sa.Index("ix_suggestions_observer_id_submitted_at", "observer_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True)
    # The draft's id from the filing conversation: confirming twice files once.
    draft_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[SuggestionKind] = mapped_column(enum_column(SuggestionKind))
    domain: Mapped[FocusDomain] = mapped_column(enum_column(FocusDomain))
    observer_id: Mapped[int] = mapped_column(sa.ForeignKey("observers.id"), index=True)
    point_id: Mapped[int | None] = mapped_column(sa.ForeignKey("points.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    behalf: Mapped[Behalf] = mapped_column(enum_column(Behalf))
    location_text: Mapped[str | None] = mapped_column(sa.String(500))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    status: Mapped[SuggestionStatus] = mapped_column(enum_column(SuggestionStatus), index=True)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suggestions.id"))
    escalated_to: Mapped[str | None] = mapped_column(sa.String(200))
    # The office's latest decision (adopted, reference, declined, escalated, duplicate):
    # what the item came to, which a closed status no longer shows.
    disposition: Mapped[SuggestionStatus | None] = mapped_column(enum_column(SuggestionStatus))
    submitted_at: Mapped[datetime]
    # The office's local dates (yyyymmdd) of filing and of the first decision, written
    # with the moments: the figures' summaries count by them (storage.figure_triggers).
    submitted_day: Mapped[int]
    decided_day: Mapped[int | None]
    # The observer's latest rating, kept by a trigger on ratings, for the summaries.
    rating: Mapped[RatingValue | None] = mapped_column(enum_column(RatingValue))
    # Deadlines are the office's local dates (inclusive); on-time flags are set once,
    # when the deadline is met or missed, and kept for the statistics.
    decision_due: Mapped[date]
    decided_at: Mapped[datetime | None]
    decided_on_time: Mapped[bool | None]
    implementation_due: Mapped[date | None]
    # When the office chases the city for its answer to an escalated item.
    city_answer_due: Mapped[date | None]
    # The office the item was reported to (the city above its district), which sees it,
    # answers it or hands it back; None while it was never reported to an office here.
    above_id: Mapped[int | None] = mapped_column(sa.ForeignKey("offices.id"), index=True)
    implemented_at: Mapped[datetime | None]
    implemented_on_time: Mapped[bool | None]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Attachment(Created, Base):
    """A photo or document, kept as Telegram file ids (Telegram keeps the bytes)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("suggestions.id"), index=True)
    # The event an attachment came with (an answer, a progress report); none if filed.
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("events.id"), index=True)
    kind: Mapped[AttachmentKind] = mapped_column(enum_column(AttachmentKind))
    file_id: Mapped[str] = mapped_column(sa.String(256))
    file_unique_id: Mapped[str] = mapped_column(sa.String(64), default="")
    file_name: Mapped[str | None] = mapped_column(sa.String(256))
    mime_type: Mapped[str | None] = mapped_column(sa.String(128))
    added_by: Mapped[int | None] = mapped_column(TelegramId)


class Event(Created, Base):
    """One move of an item. Append-only: the timeline and the statistics are built
    from these rows, so they are never updated or deleted."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("suggestions.id"), index=True)
    action: Mapped[Action] = mapped_column(enum_column(Action))
    actor_user_id: Mapped[int | None] = mapped_column(TelegramId)
    actor_role: Mapped[Role] = mapped_column(enum_column(Role))
    from_status: Mapped[SuggestionStatus | None] = mapped_column(enum_column(SuggestionStatus))
    to_status: Mapped[SuggestionStatus] = mapped_column(enum_column(SuggestionStatus))
    text: Mapped[str | None] = mapped_column(sa.Text)
    internal: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxMessage(Created, Base):
    """A notification written in the business transaction, delivered later.

    ``chat_id`` is empty for the admin group, which the sender resolves from the
    settings, so the services never need to know it. ``state`` is pending, sent, failed
    (a permanent error), or held (the person blocked the bot: kept until they return).
    A chat's rows go out in ``id`` order.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_state_due", "state", "not_before"),
        # A chat's queue: is an earlier row still pending, which rows are held.
        sa.Index("ix_outbox_state_chat", "state", "chat_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    audience: Mapped[str] = mapped_column(sa.String(16))
    chat_id: Mapped[int | None] = mapped_column(TelegramId, index=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    suggestion_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suggestions.id"))
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("events.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None]
    # The broadcast a row belongs to, so that its delivery report can be counted.
    broadcast_id: Mapped[int | None] = mapped_column(sa.ForeignKey("broadcasts.id"), index=True)
    # The office whose group an admin-group row goes to (None: the home office's).
    office_id: Mapped[int | None] = mapped_column(sa.ForeignKey("offices.id"))
    # A sender's lease: the row is being sent by ``claimed_by`` until then (no
    # transaction is open meanwhile); past it, the send is tried again.
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_until: Mapped[datetime | None]


class Card(Created, Base):
    """A message the bot posted that shows an item or an application and is kept current.

    An item returning to the office gets a new card; the newest one in a chat is
    ``current`` and carries the buttons, older ones show a short pointer to it.
    """

    __tablename__ = "cards"
    __table_args__ = (
        sa.UniqueConstraint("chat_id", "message_id"),
        sa.Index("ix_cards_subject", "subject", "subject_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(TelegramId)
    message_id: Mapped[int] = mapped_column(TelegramId)
    # "item" or "application"
    subject: Mapped[str] = mapped_column(sa.String(16))
    subject_id: Mapped[int]
    # A hash of what the card shows now: an edit that would change nothing is skipped.
    digest: Mapped[str] = mapped_column(sa.String(64), default="")
    current: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # When the message may no longer show what the database says (a move not yet
    # shown, an edit that failed): the sender brings it up to date from then on.
    resync_at: Mapped[datetime | None] = mapped_column(index=True)
    # The newest event of the subject the message shows (None: not known), so that a
    # notice of a move the card shows already need not draw it again.
    shown_event: Mapped[int | None] = mapped_column(sa.BigInteger())


class UnsurePost(Created, Base):
    """A card whose post may have reached its chat without the bot hearing of it: a
    copy the bot has no record of may lie after ``since``, the newest message id the
    bot knew in the chat before (0: none). Written before every post of a card and
    removed with a sure post's record, else kept until the ids after it were looked
    at (``handlers.card_sync``), by this process or the next."""

    __tablename__ = "unsure_posts"
    __table_args__ = (sa.UniqueConstraint("chat_id", "subject", "subject_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(TelegramId)
    subject: Mapped[str] = mapped_column(sa.String(16))
    subject_id: Mapped[int]
    since: Mapped[int] = mapped_column(sa.BigInteger())


class Broadcast(Created, InOffice, Base):
    """A message the office sent to all active observers, or to one point's."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text)
    point_id: Mapped[int | None] = mapped_column(sa.ForeignKey("points.id"))
    created_by: Mapped[int | None] = mapped_column(TelegramId)
    recipients: Mapped[int] = mapped_column(default=0)
    # Set once the delivered/failed report has been queued for the admin group.
    reported_at: Mapped[datetime | None]


class Rating(Created, Base):
    """The observer's satisfaction (满意度) with how an item ended."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("suggestions.id"), index=True)
    observer_id: Mapped[int] = mapped_column(sa.ForeignKey("observers.id"), index=True)
    value: Mapped[RatingValue] = mapped_column(enum_column(RatingValue))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("events.id"))


class ProcessedUpdate(Base):
    """Telegram update ids already handled, so a redelivered update changes nothing."""

    __tablename__ = "processed_updates"

    bot_id: Mapped[int] = mapped_column(TelegramId, primary_key=True)
    update_id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ConversationState(Base):
    """Durable conversation (FSM) state: a half-written draft survives a restart."""

    __tablename__ = "conversation_states"

    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(sa.String(255))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CalendarDay(Base):
    """An exception to the Monday-Friday week: a holiday or a make-up working day."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[DayKind] = mapped_column(enum_column(DayKind, 16))
    name: Mapped[str] = mapped_column(sa.String(100), default="")


class ReferenceCounter(Base):
    """The last reference number handed out per jurisdiction and year."""

    __tablename__ = "reference_counters"

    jurisdiction: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class Lease(Base):
    """A job only one process may run at a time (the scheduler): whoever holds an
    unexpired lease runs it, and renews it while running."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(128))
    expires_at: Mapped[datetime]


class ReminderSent(Base):
    """A reminder, digest or summary already queued: the unique key makes each fire
    once, whichever process and however many restarts."""

    __tablename__ = "reminders_sent"
    __table_args__ = (sa.UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    key: Mapped[str] = mapped_column(sa.String(128))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or remove a recorded event."""


@sa.event.listens_for(Event, "before_update")
@sa.event.listens_for(Event, "before_delete")
def _events_are_append_only(_mapper: Any, _connection: Any, target: Event) -> None:
    # The timeline and the office's accountability rest on the event log: a correction
    # is a new event, never an edit of an old one.
    raise AppendOnlyError(f"event {target.id} is append-only")


QUEUED = "outbox_queued"


@sa.event.listens_for(OutboxMessage, "after_insert")
def _outbox_queued(_mapper: Any, _connection: Any, target: OutboxMessage) -> None:
    # Tells whoever commits the session that the sender has something new to look at
    # (UpdateTransaction.on_queued), so that it need not look after every update.
    session = sa.orm.object_session(target)
    if session is not None:
        session.info[QUEUED] = True


class DeadLetter(Created, Base):
    """An update that could not be read (it failed validation), confirmed and skipped.

    Kept so that the office learns that something someone sent was lost: its id, its
    type and where it failed validation, never its content (a person's words)."""

    __tablename__ = "dead_letters"
    __table_args__ = (sa.UniqueConstraint("bot_id", "update_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bot_id: Mapped[int] = mapped_column(TelegramId)
    update_id: Mapped[int] = mapped_column(TelegramId)
    # The update's type: its first field besides update_id ("message", "poll", ...).
    kind: Mapped[str] = mapped_column(sa.String(64))
    # Where and how validation failed: field locations and error types only.
    error: Mapped[str] = mapped_column(sa.Text)


class PrivacyRecord(Created, Base):
    """What was done with someone's personal data, kept as the office's account of it:
    a phone number shown to an admin (``phone_shown``), an observer anonymised
    (``anonymised``), an application erased (``erased``), the admin group warned of the
    members who are not its admins (``outsiders``). Written, never changed.

    ``actor_user_id`` is the admin who acted; None for the scheduler, and for a person
    who asked to be forgotten (their Telegram id is what they asked us to drop)."""

    __tablename__ = "privacy_log"
    __table_args__ = (sa.Index("ix_privacy_log_subject", "subject", "subject_id", "action"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    action: Mapped[str] = mapped_column(sa.String(32))
    # "application", "observer" or "chat" (the admin group, for ``outsiders``).
    subject: Mapped[str] = mapped_column(sa.String(16))
    subject_id: Mapped[int] = mapped_column(sa.BigInteger())
    actor_user_id: Mapped[int | None] = mapped_column(TelegramId)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Rectification(Created, Base):
    """A finding the city raised for one of its districts, followed until the city
    accepts its rectification (``bot.domain.rectifications``). ``log`` keeps every step:
    who, when, which move, their words."""

    __tablename__ = "rectifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The district that must put it right, and the office that raised it (the city).
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("offices.id"), index=True)
    raised_by_id: Mapped[int] = mapped_column(sa.ForeignKey("offices.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    due: Mapped[date]
    status: Mapped[RectStatus] = mapped_column(
        enum_column(RectStatus, 16), default=RectStatus.RAISED, index=True
    )
    log: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(TelegramId)
    closed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class PointRequest(Created, Base):
    """An observer's request to move to another observation point, which the office
    approves or refuses (``bot.domain.point_requests``); only approval moves them."""

    __tablename__ = "point_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    observer_id: Mapped[int] = mapped_column(sa.ForeignKey("observers.id"), index=True)
    # Where they were when they asked (None: nowhere), and where they asked to go.
    from_point_id: Mapped[int | None] = mapped_column(sa.ForeignKey("points.id"))
    to_point_id: Mapped[int] = mapped_column(sa.ForeignKey("points.id"))
    status: Mapped[RequestStatus] = mapped_column(
        enum_column(RequestStatus, 16), default=RequestStatus.PENDING, index=True
    )
    decided_by: Mapped[int | None] = mapped_column(TelegramId)
    decided_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


# ---- the figures' summaries, kept by triggers (storage.figure_triggers) ------------------
# Keys hold no NULL: 0, '' and -1 (a flag not set) stand for none.


class _Counted:
    """The key every item summary starts with: whose items, filed in which month."""

    # First in the key, whatever the summary's own columns.
    office_id: Mapped[int] = mapped_column(primary_key=True, sort_order=-3)
    above_id: Mapped[int] = mapped_column(primary_key=True, sort_order=-2)  # 0: nowhere
    month: Mapped[int] = mapped_column(primary_key=True, sort_order=-1)  # yyyymm, local


class FigurePoints(_Counted, Base):
    """Items per point and outcome: /stats' totals, points and months."""

    __tablename__ = "fig_points"

    point_id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    disposition: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    n: Mapped[int]


class FigureDomains(_Counted, Base):
    """Items per focus domain and outcome."""

    __tablename__ = "fig_domains"

    domain: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    disposition: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    n: Mapped[int]


class FigureKinds(_Counted, Base):
    """Items per kind (suggestion, opinion, problem)."""

    __tablename__ = "fig_kinds"

    kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    n: Mapped[int]


class FigureRatings(_Counted, Base):
    """Rated items by their latest rating."""

    __tablename__ = "fig_ratings"

    rating: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    n: Mapped[int]


class FigureDecisions(Base):
    """Decided items by the local days of filing and of the first decision: working days
    between them are counted when read, by the calendar as it is then."""

    __tablename__ = "fig_decisions"

    office_id: Mapped[int] = mapped_column(primary_key=True)
    above_id: Mapped[int] = mapped_column(primary_key=True)
    submitted_day: Mapped[int] = mapped_column(primary_key=True)  # yyyymmdd
    decided_day: Mapped[int] = mapped_column(primary_key=True)  # 0: none
    on_time: Mapped[int] = mapped_column(primary_key=True)  # 1, 0, -1: no deadline
    n: Mapped[int]


class FigureDepartments(Base):
    """Adopted items per department, by how their implementation stands."""

    __tablename__ = "fig_departments"

    office_id: Mapped[int] = mapped_column(primary_key=True)
    above_id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(primary_key=True)
    on_time: Mapped[int] = mapped_column(primary_key=True)
    implemented: Mapped[int] = mapped_column(primary_key=True)
    # An open item's due date (overdue is worked out against today); 1970-01-01: closed.
    open_due: Mapped[date] = mapped_column(primary_key=True)
    n: Mapped[int]


class FigureObservers(Base):
    """One row per observer per month: who filed (distinct, never summed across rows)."""

    __tablename__ = "fig_observers"

    office_id: Mapped[int] = mapped_column(primary_key=True)
    observer_id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[int] = mapped_column(primary_key=True)
    filed: Mapped[int]
    adopted: Mapped[int]
    last_at: Mapped[datetime]


for _dialect in ("sqlite", "postgresql"):
    for _statement in figure_triggers.create_statements(_dialect):
        sa.event.listen(
            Base.metadata,
            "after_create",
            sa.DDL(_statement.replace("%", "%%")).execute_if(dialect=_dialect),  # type: ignore[no-untyped-call]
        )
    for _statement in figure_triggers.drop_statements(_dialect):
        sa.event.listen(
            Base.metadata,
            "before_drop",
            sa.DDL(_statement).execute_if(dialect=_dialect),  # type: ignore[no-untyped-call]
        )
