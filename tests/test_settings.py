"""Tests for bot.settings: parsing from the environment and the one-line errors."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.settings import Settings, SettingsError, load_settings

ENV_NAMES = (
    "BOT_TOKEN",
    "ADMIN_CHAT_ID",
    "ADMIN_IDS",
    "DATABASE_URL",
    "REDIS_URL",
    "DEFAULT_LOCALE",
    "TIMEZONE",
    "JURISDICTION_CODE",
    "DECISION_DAYS",
    "WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "TELEGRAM_API_URL",
    "LOG_LEVEL",
)

GOOD_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Names are matched case-insensitively, so a stray lower-case ``bot_token``
    # in the developer's shell would leak in just as well as ``BOT_TOKEN``.
    for name in list(os.environ):
        if name.upper() in ENV_NAMES:
            monkeypatch.delenv(name)
    # An empty directory, so a developer's real .env is never picked up.
    monkeypatch.chdir(tmp_path)


def error_for(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message
    assert "\n" not in message
    assert "\r" not in message
    return message


def test_defaults_with_empty_environment() -> None:
    settings = load_settings()
    assert settings.bot_token is None
    assert settings.admin_chat_id is None
    assert settings.admin_ids == []
    assert settings.database_url == "sqlite+aiosqlite:///outpost.db"
    assert settings.redis_url is None
    assert settings.default_locale == "zh_CN"
    assert settings.timezone == "Asia/Shanghai"
    assert settings.tz == ZoneInfo("Asia/Shanghai")
    assert settings.jurisdiction_code == "WZ"
    assert settings.decision_days == 5
    assert settings.webhook_url is None
    assert settings.webhook_secret is None
    assert settings.telegram_api_url is None
    assert settings.log_level == "INFO"
    assert settings.log_format == "json"
    assert (settings.webhook_host, settings.webhook_port) == ("0.0.0.0", 8080)


def test_every_setting_parsed_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "BOT_TOKEN": GOOD_TOKEN,
        "ADMIN_CHAT_ID": "-1001234567890",
        "ADMIN_IDS": "11,22",
        "DATABASE_URL": "postgresql+asyncpg://outpost:pw@db:5432/outpost",
        "REDIS_URL": "rediss://cache:6380/1",
        "DEFAULT_LOCALE": "en",
        "TIMEZONE": "Europe/Berlin",
        "JURISDICTION_CODE": "LC",
        "DECISION_DAYS": "14",
        "WEBHOOK_URL": "https://bot.example.org/telegram",
        "WEBHOOK_SECRET": "s3cret_-XYZ",
        "TELEGRAM_API_URL": "http://127.0.0.1:8081",
        "LOG_LEVEL": "DEBUG",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    settings = load_settings()

    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == GOOD_TOKEN
    assert settings.admin_chat_id == -1001234567890
    assert settings.admin_ids == [11, 22]
    assert settings.database_url == "postgresql+asyncpg://outpost:pw@db:5432/outpost"
    assert settings.redis_url == "rediss://cache:6380/1"
    assert settings.default_locale == "en"
    assert settings.timezone == "Europe/Berlin"
    assert settings.tz == ZoneInfo("Europe/Berlin")
    assert settings.jurisdiction_code == "LC"
    assert settings.decision_days == 14
    assert settings.webhook_url == "https://bot.example.org/telegram"
    assert settings.webhook_secret == "s3cret_-XYZ"
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.log_level == "DEBUG"


def test_lower_case_env_names_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("decision_days", "7")
    assert load_settings().decision_days == 7


def test_secrets_stay_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", GOOD_TOKEN)
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/telegram")
    monkeypatch.setenv("WEBHOOK_SECRET", "hunter2hunter2")
    shown = repr(load_settings())
    assert GOOD_TOKEN not in shown
    assert "hunter2hunter2" not in shown


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,2, 3", [1, 2, 3]),
        ("42", [42]),
        (" 5 , 6 ,", [5, 6]),
        ("[1, 2, 3]", [1, 2, 3]),
        ('["7", 8]', [7, 8]),
        ("[]", []),
    ],
)
def test_admin_ids_forms(monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[int]) -> None:
    monkeypatch.setenv("ADMIN_IDS", raw)
    assert load_settings().admin_ids == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgresql://u:pw@db/outpost", "postgresql+asyncpg://u:pw@db/outpost"),
        ("postgres://u:pw@db:5433/outpost", "postgresql+asyncpg://u:pw@db:5433/outpost"),
        ("postgresql+asyncpg://db/outpost", "postgresql+asyncpg://db/outpost"),
        ("sqlite:///data/outpost.db", "sqlite+aiosqlite:///data/outpost.db"),
        ("sqlite:///data/outpost.db?mode=rwc", "sqlite+aiosqlite:///data/outpost.db?mode=rwc"),
        # An escaped percent sign is a percent sign in the name, not a NUL.
        ("sqlite:///data/100%2500.db", "sqlite+aiosqlite:///data/100%2500.db"),
    ],
)
def test_database_url_rewriting(monkeypatch: pytest.MonkeyPatch, raw: str, expected: str) -> None:
    monkeypatch.setenv("DATABASE_URL", raw)
    assert load_settings().database_url == expected


def test_jurisdiction_code_is_upper_cased(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JURISDICTION_CODE", "wz")
    assert load_settings().jurisdiction_code == "WZ"


def test_log_level_is_upper_cased(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "warning")
    assert load_settings().log_level == "WARNING"


def test_empty_strings_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.setenv(name, "")
    assert load_settings() == Settings()
    assert load_settings().bot_token is None


def test_blank_overrides_mean_unset() -> None:
    settings = load_settings(bot_token="", redis_url="  ", admin_chat_id="")
    assert settings.bot_token is None
    assert settings.redis_url is None
    assert settings.admin_chat_id is None


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_database_url_means_the_default_file(
    monkeypatch: pytest.MonkeyPatch, blank: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", blank)
    assert load_settings().database_url == "sqlite+aiosqlite:///outpost.db"
    assert load_settings(database_url=blank).database_url == "sqlite+aiosqlite:///outpost.db"


def test_overrides_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECISION_DAYS", "9")
    assert load_settings(decision_days=3).decision_days == 3


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# local development\n"
        f"BOT_TOKEN={GOOD_TOKEN}\n"
        "ADMIN_IDS=5,6\n"
        "DECISION_DAYS=10\n"
        "REDIS_URL=\n"
        "SOMETHING_ELSE=ignored\n",
        encoding="utf-8",
    )
    settings = load_settings()
    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == GOOD_TOKEN
    assert settings.admin_ids == [5, 6]
    assert settings.decision_days == 10
    assert settings.redis_url is None


def test_environment_beats_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DECISION_DAYS=10\n", encoding="utf-8")
    monkeypatch.setenv("DECISION_DAYS", "20")
    assert load_settings().decision_days == 20


def test_dotenv_errors_are_reported(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ADMIN_CHAT_ID=42\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"^ADMIN_CHAT_ID: "):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("ADMIN_CHAT_ID", "123", "ADMIN_CHAT_ID: must be a negative group id, got '123'"),
        ("ADMIN_CHAT_ID", "0", "must be a negative group id"),
        ("ADMIN_CHAT_ID", "group", "ADMIN_CHAT_ID: Input should be a valid integer"),
        ("ADMIN_IDS", "1,-2", "ADMIN_IDS: must be positive user ids"),
        ("ADMIN_IDS", "0", "ADMIN_IDS: must be positive user ids"),
        ("ADMIN_IDS", "1,bob", "ADMIN_IDS (item 2): Input should be a valid integer"),
        ("ADMIN_IDS", "[1, 2", "ADMIN_IDS: is not a valid JSON list"),
        ("ADMIN_IDS", '{"a": 1}', "ADMIN_IDS"),
        ("DATABASE_URL", "mysql://u@db/outpost", "DATABASE_URL: must start with"),
        ("DATABASE_URL", "outpost.db", "DATABASE_URL: must start with"),
        ("DATABASE_URL", "sqlite:///out%00post.db", "DATABASE_URL: contains a NUL byte (%00)"),
        ("DATABASE_URL", "postgresql://db/out%00post", "DATABASE_URL: contains a NUL byte"),
        ("DATABASE_URL", "sqlite:///:memory:", "DATABASE_URL: names an in-memory database"),
        ("DATABASE_URL", "sqlite+aiosqlite://", "DATABASE_URL: names an in-memory database"),
        ("DATABASE_URL", "sqlite:///", "DATABASE_URL: names an in-memory database"),
        (
            "DATABASE_URL",
            "sqlite:///file::memory:?cache=shared&uri=true",
            "DATABASE_URL: names an in-memory database",
        ),
        (
            "DATABASE_URL",
            "sqlite:///file:o.db?mode=memory&uri=true",
            "DATABASE_URL: names an in-memory database",
        ),
        ("DATABASE_URL", "sqlite:///o.db?mode=ro", "DATABASE_URL: opens the database read-only"),
        (
            "DATABASE_URL",
            "sqlite:///file:o.db?mode=RO&uri=true",
            "DATABASE_URL: opens the database read-only",
        ),
        (
            "DATABASE_URL",
            "sqlite:///file:o.db?immutable=1&uri=true",
            "DATABASE_URL: opens the database read-only",
        ),
        ("DATABASE_URL", "postgresql://u@db:port/x", "DATABASE_URL: is not a valid database URL"),
        ("REDIS_URL", "http://cache:6379", "REDIS_URL: must start with redis://"),
        ("DEFAULT_LOCALE", "fr", "DEFAULT_LOCALE: Input should be 'zh_CN' or 'en'"),
        ("TIMEZONE", "Mars/Olympus_Mons", "TIMEZONE: is not a known IANA time zone"),
        ("TIMEZONE", "../../etc/passwd", "TIMEZONE: is not a known IANA time zone"),
        ("JURISDICTION_CODE", "W", "JURISDICTION_CODE: must be 2 to 6 ASCII letters"),
        ("JURISDICTION_CODE", "WENZHOU", "JURISDICTION_CODE: must be 2 to 6 ASCII letters"),
        ("JURISDICTION_CODE", "W1", "JURISDICTION_CODE: must be 2 to 6 ASCII letters"),
        ("JURISDICTION_CODE", "温州", "JURISDICTION_CODE: must be 2 to 6 ASCII letters"),
        ("DECISION_DAYS", "abc", "DECISION_DAYS: Input should be a valid integer"),
        ("DECISION_DAYS", "0", "DECISION_DAYS: Input should be greater than or equal to 1"),
        ("DECISION_DAYS", "61", "DECISION_DAYS: Input should be less than or equal to 60"),
        ("WEBHOOK_URL", "http://bot.example.org/hook", "WEBHOOK_URL: must be a URL starting"),
        ("WEBHOOK_URL", "https://", "WEBHOOK_URL: must be a URL starting"),
        ("WEBHOOK_URL", "http://10.0.0.5/hook", "WEBHOOK_URL: must be a URL starting"),
        ("WEBHOOK_PORT", "70000", "WEBHOOK_PORT: Input should be less than or equal to 65535"),
        ("WEBHOOK_SECRET", "has spaces in it", "WEBHOOK_SECRET: must be 1 to 256"),
        ("WEBHOOK_SECRET", "x" * 257, "WEBHOOK_SECRET: must be 1 to 256"),
        ("TELEGRAM_API_URL", "ftp://api.local", "TELEGRAM_API_URL: must be a URL starting"),
        ("TELEGRAM_API_URL", "https://api.local:port", "TELEGRAM_API_URL: is not a valid URL"),
        ("LOG_LEVEL", "TRACE", "LOG_LEVEL: Input should be"),
        ("BOT_TOKEN", "not-a-token", "BOT_TOKEN: does not look like a token"),
        ("BOT_TOKEN", "123:short", "BOT_TOKEN: does not look like a token"),
    ],
)
def test_malformed_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    message = error_for(monkeypatch, **{name: value})
    assert message.startswith(f"{name}")
    assert fragment in message


def test_decision_days_error_shows_input(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_for(monkeypatch, DECISION_DAYS="abc")
    assert message.endswith(", got 'abc'")


def test_newline_in_value_stays_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_for(monkeypatch, TIMEZONE="Asia/\nShanghai")
    assert message.startswith("TIMEZONE: ")


def test_bot_token_value_never_in_error(monkeypatch: pytest.MonkeyPatch) -> None:
    bad_token = "123456789:short-but-secret"
    message = error_for(monkeypatch, BOT_TOKEN=bad_token)
    assert "BOT_TOKEN" in message
    assert bad_token not in message
    assert "short-but-secret" not in message


def test_good_bot_token_not_in_other_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    # The model-level webhook check sees every field, the token included.
    message = error_for(
        monkeypatch, BOT_TOKEN=GOOD_TOKEN, WEBHOOK_URL="https://bot.example.org/telegram"
    )
    assert GOOD_TOKEN not in message
    assert GOOD_TOKEN.split(":")[1] not in message


def test_bot_token_not_in_exception_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:leaky")
    with pytest.raises(SettingsError) as info:
        load_settings()
    # A chained ValidationError would be printed with the traceback.
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_webhook_secret_value_never_in_error(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_for(monkeypatch, WEBHOOK_SECRET="almost good!")
    assert "almost good" not in message


def test_database_password_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_for(monkeypatch, DATABASE_URL="mysql://outpost:hunter2@db/outpost")
    assert "hunter2" not in message
    assert "mysql://outpost:***@db/outpost" in message


def test_an_unparseable_database_url_never_shows_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # SQLAlchemy's own complaint quotes the whole URL; ours must not.
    message = error_for(monkeypatch, DATABASE_URL="postgresql://outpost:hunter2@db:port/x")
    assert "hunter2" not in message
    assert message.startswith("DATABASE_URL: is not a valid database URL")


def test_webhook_url_without_secret_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_for(monkeypatch, WEBHOOK_URL="https://bot.example.org/telegram")
    assert "WEBHOOK_SECRET" in message
    assert "WEBHOOK_URL" in message


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8443/hook", "http://localhost/hook", "http://[::1]:9000/tg"]
)
def test_plain_http_webhook_only_on_this_machine(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    # A Bot API server on the same machine (the sandbox, telegram-bot-api) may call http.
    monkeypatch.setenv("WEBHOOK_URL", url)
    monkeypatch.setenv("WEBHOOK_SECRET", "abc")
    assert load_settings().webhook_url == url


def test_webhook_listens_where_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_HOST", "127.0.0.1")
    monkeypatch.setenv("WEBHOOK_PORT", "9443")
    monkeypatch.setenv("LOG_FORMAT", "TEXT")
    settings = load_settings()
    assert (settings.webhook_host, settings.webhook_port) == ("127.0.0.1", 9443)
    assert settings.log_format == "text"


def test_webhook_secret_without_url_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", "abc")
    assert load_settings().webhook_url is None


def test_several_errors_joined_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_for(
        monkeypatch,
        BOT_TOKEN="123:leaky",
        ADMIN_CHAT_ID="123",
        DECISION_DAYS="abc",
        TIMEZONE="Nowhere/Atall",
    )
    parts = message.split("; ")
    assert len(parts) == 4
    assert [part.split(":")[0] for part in parts] == [
        "BOT_TOKEN",
        "ADMIN_CHAT_ID",
        "TIMEZONE",
        "DECISION_DAYS",
    ]
    assert "ADMIN_CHAT_ID: must be a negative group id, got '123'" in parts
    assert "leaky" not in message


def test_settings_error_from_overrides() -> None:
    with pytest.raises(SettingsError, match=r"^DECISION_DAYS: .*got 100$"):
        load_settings(decision_days=100)
