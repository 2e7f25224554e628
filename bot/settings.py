"""Start-up configuration, read from the environment or a ``.env`` file.

``Settings`` is never instantiated at import time: tests and the CLI build it
through :func:`load_settings`, which turns pydantic's multi-line report into the
single line that docs/design.md §7 promises an operator ("which and why").

Secrets (the bot token, the webhook secret, passwords inside URLs) are never
echoed back in error messages, because those lines end up in logs and in
screenshots pasted into chats.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Final, Literal, Self
from urllib.parse import unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["Settings", "SettingsError", "load_settings"]

# Explicit ASCII classes rather than \d or re.IGNORECASE: both match non-ASCII
# characters (Arabic-Indic digits, the Kelvin sign) in str patterns.
_BOT_TOKEN_RE: Final = re.compile(r"[0-9]+:[A-Za-z0-9_-]{20,}")
_WEBHOOK_SECRET_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
_JURISDICTION_RE: Final = re.compile(r"[A-Za-z]{2,6}")

DEFAULT_DATABASE_URL: Final = "sqlite+aiosqlite:///outpost.db"
_DATABASE_SCHEMES: Final = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
# SQLite's names for a database that lives only as long as the connection.
_SQLITE_IN_MEMORY: Final = frozenset({"", ":memory:"})
# The synchronous spellings people copy from Heroku-style dashboards or the
# SQLAlchemy docs; the bot only ships async drivers, so map them over.
_DATABASE_REWRITES: Final = (
    ("postgresql://", "postgresql+asyncpg://"),
    ("postgres://", "postgresql+asyncpg://"),
    ("sqlite://", "sqlite+aiosqlite://"),
)
_REDIS_SCHEMES: Final = ("redis://", "rediss://", "unix://")

_SECRET_FIELDS: Final = frozenset({"bot_token", "webhook_secret"})
_URL_FIELDS: Final = frozenset({"database_url", "redis_url", "webhook_url", "telegram_api_url"})
_MAX_SHOWN_INPUT: Final = 80
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})


class SettingsError(Exception):
    """A setting is missing or malformed; ``str()`` is one line fit for a log."""


def _check_http_url(value: str, schemes: tuple[str, ...]) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- evaluated only because it raises on a bad port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in schemes or not parts.hostname or any(c.isspace() for c in value):
        wanted = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ValueError(f"must be a URL starting with {wanted} and naming a host")
    return value


def _query_values(url: URL, name: str) -> tuple[str, ...]:
    value = url.query.get(name, ())
    return (value,) if isinstance(value, str) else tuple(value)


def _check_sqlite_url(url: URL) -> None:
    database = url.database or ""
    modes = {mode.lower() for mode in _query_values(url, "mode")}
    if database in _SQLITE_IN_MEMORY or database.startswith("file::memory:") or "memory" in modes:
        # Everything filed would vanish with the process, and each connection of the
        # pool would see a database of its own.
        raise ValueError(
            "names an in-memory database, lost when the bot stops: "
            "name a file instead, e.g. sqlite+aiosqlite:///outpost.db"
        )
    immutable = {flag.lower() for flag in _query_values(url, "immutable")} - {"0", "false"}
    if "ro" in modes or immutable:
        # The bot writes every update it handles; read-only, the first one would fail.
        raise ValueError(
            "opens the database read-only, but the bot must write to it: "
            "remove mode=ro (or immutable) from the URL"
        )


class Settings(BaseSettings):
    """Every knob the bot reads at start-up; field ``foo`` is env var ``FOO``."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=False,
        extra="ignore",
        # An empty ``FOO=`` line in .env or docker-compose means "not set".
        env_ignore_empty=True,
        str_strip_whitespace=True,
        # Keeps the token out of pydantic's own report should anyone print a
        # raw ValidationError; load_settings still sees inputs via errors().
        hide_input_in_errors=True,
    )

    bot_token: SecretStr | None = None
    admin_chat_id: int | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # How long a getChatMember answer about the admin group is trusted.
    admin_cache_seconds: int = Field(default=60, ge=0, le=3600)
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    timezone: str = "Asia/Shanghai"
    jurisdiction_code: str = "WZ"
    decision_days: int = Field(default=5, ge=1, le=60)
    # Working days the city has to answer an escalated item before the office chases it.
    city_answer_days: int = Field(default=20, ge=1, le=250)
    # The local hour (TIMEZONE) of the daily digest, reminders and weekly summary.
    digest_hour: int = Field(default=9, ge=0, le=23)
    # Days an application not approved is kept before it is erased.
    applications_kept_days: int = Field(default=90, ge=1, le=3650)
    webhook_url: str | None = None
    webhook_secret: str | None = Field(default=None, repr=False)
    telegram_api_url: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # JSON lines for a log collector; text for a person watching a terminal.
    log_format: Literal["json", "text"] = "json"
    # Where the webhook server listens; WEBHOOK_URL is what Telegram is told, usually a
    # reverse proxy in front of this address.
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    # Webhook mode's worker processes, all on WEBHOOK_PORT (polling is one process).
    workers: int = Field(default=1, ge=1, le=64)
    # Polling mode's /healthz and /metrics, when set (webhook mode serves them on
    # WEBHOOK_PORT beside the webhook).
    status_port: int | None = Field(default=None, ge=1, le=65535)

    @property
    def tz(self) -> ZoneInfo:
        # ZoneInfo keeps its own cache, so repeated calls are cheap.
        return ZoneInfo(self.timezone)

    # env_ignore_empty only covers the environment and .env; overrides passed
    # to load_settings (and whitespace-only values) need the same treatment.
    @field_validator(
        "bot_token",
        "admin_chat_id",
        "redis_url",
        "webhook_url",
        "webhook_secret",
        "telegram_api_url",
        "status_port",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str):
            return value.strip()
        return value

    @field_validator("bot_token")
    @classmethod
    def _check_bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _BOT_TOKEN_RE.fullmatch(value.get_secret_value()):
            raise ValueError("does not look like a token from @BotFather (<digits>:<20+ chars>)")
        return value

    @field_validator("admin_chat_id")
    @classmethod
    def _check_admin_chat_id(cls, value: int | None) -> int | None:
        if value is not None and value >= 0:
            raise ValueError("must be a negative group id")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_admin_ids(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise ValueError("is not a valid JSON list") from None
        # Tolerate a trailing comma or doubled commas from hand-edited files.
        return [part.strip() for part in text.split(",") if part.strip()]

    @field_validator("admin_ids")
    @classmethod
    def _check_admin_ids(cls, value: list[int]) -> list[int]:
        bad = [user_id for user_id in value if user_id <= 0]
        if bad:
            raise ValueError(f"must be positive user ids, {bad[0]} is not")
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _rewrite_database_url(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        url = value.strip()
        if not url:
            # As for the optional settings: blank is "not set", so the default file.
            return DEFAULT_DATABASE_URL
        for old, new in _DATABASE_REWRITES:
            if url.lower().startswith(old):
                return new + url[len(old) :]
        return url

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.lower().startswith(_DATABASE_SCHEMES):
            raise ValueError("must start with " + " or ".join(_DATABASE_SCHEMES))
        if "\x00" in unquote(value):
            # No file name, database name or password can hold one; the drivers fail
            # deep inside with a traceback instead of saying so.
            raise ValueError("contains a NUL byte (%00): remove it")
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):
            # Not the parser's words: they quote the whole URL, password and all.
            raise ValueError(
                "is not a valid database URL (check the host, port and %-escapes)"
            ) from None
        if url.get_backend_name() == "sqlite":
            _check_sqlite_url(url)
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(_REDIS_SCHEMES):
            raise ValueError("must start with " + " or ".join(_REDIS_SCHEMES))
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not a known IANA time zone (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("jurisdiction_code")
    @classmethod
    def _check_jurisdiction_code(cls, value: str) -> str:
        if not _JURISDICTION_RE.fullmatch(value):
            raise ValueError("must be 2 to 6 ASCII letters")
        return value.upper()

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        # Telegram only delivers webhooks over TLS; a Bot API server on this machine (the
        # sandbox, a local telegram-bot-api) may call plain http on the loopback.
        if value is None:
            return None
        try:
            host = urlsplit(value).hostname
        except ValueError:
            host = None  # _check_http_url says why
        schemes = ("https", "http") if host in _LOOPBACK else ("https",)
        return _check_http_url(value, schemes)

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: str | None) -> str | None:
        if value is not None and not _WEBHOOK_SECRET_RE.fullmatch(value):
            raise ValueError("must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _check_telegram_api_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_http_url(value, ("http", "https"))

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Self:
        # Without a secret anyone who learns the URL can forge updates.
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET: must be set when WEBHOOK_URL is set")
        return self


def _redact_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        if parts.password is None:
            return value
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
    except ValueError:
        # Cannot tell where a password would be, so show nothing.
        return "<unparseable URL>"


def _shown_input(field: str, value: object) -> str | None:
    if field in _SECRET_FIELDS:
        return None
    if field in _URL_FIELDS and isinstance(value, str):
        value = _redact_url(value)
    # repr() escapes newlines, which keeps the report on one line.
    shown = repr(value)
    if len(shown) > _MAX_SHOWN_INPUT:
        shown = shown[: _MAX_SHOWN_INPUT - 3] + "..."
    return shown


def _describe(exc: ValidationError) -> str:
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        message = error["msg"].removeprefix("Value error, ")
        loc = error["loc"]
        if not loc:
            # Model-level checks name their variables in the message itself.
            problems.append(message)
            continue
        field = str(loc[0])
        name = field.upper()
        if len(loc) > 1 and isinstance(loc[1], int):
            name += f" (item {loc[1] + 1})"
        problem = f"{name}: {message}"
        if "input" in error:
            shown = _shown_input(field, error["input"])
            if shown is not None:
                problem += f", got {shown}"
        problems.append(problem)
    return "; ".join(" ".join(problem.splitlines()) for problem in problems)


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings`; keyword overrides (by field name) beat the environment.

    Raises :class:`SettingsError` with a one-line explanation when anything is
    wrong, so the CLI can print it and exit instead of dumping a traceback.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        # ``from None``: the chained ValidationError would print raw inputs.
        raise SettingsError(_describe(exc)) from None
