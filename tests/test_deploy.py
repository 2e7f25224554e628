"""deploy/ and the README's Production section agree with the bot they deploy.

Nothing here starts a container or a service (the images are not at hand offline):
the files are read back. The YAML parses; every environment variable they name is a
setting of ``bot.settings.Settings`` or one of the few documented others; every
``outpost`` command they give is one the CLI's parser takes; the alert rules use only
the metrics the bot serves; the image and ``make`` install from the lock files, and
the lock files hold what pyproject.toml asks for. With systemd at hand, systemd reads
the units too.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.cli import _parser
from bot.runtime.workers import Supervisor
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
README = ROOT / "README.md"
OPERATIONS = ROOT / "docs" / "operations.md"
LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"

SETTINGS = frozenset(name.upper() for name in Settings.model_fields)
# Variables deploy/ may name that are not the bot's settings, and whose they are.
NOT_SETTINGS = frozenset(
    {
        # The postgres image's (compose.yaml), and compose's own interpolation of it.
        "POSTGRES_USER",
        "POSTGRES_DB",
        "POSTGRES_PASSWORD",
        # libpq's, read by pg_dump and pg_restore (storage/backup.py sets PGPASSWORD).
        "PGPASSWORD",
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        # prometheus_client's multi-process directory, which the supervisor makes.
        "PROMETHEUS_MULTIPROC_DIR",
        # The image's: matplotlib's cache, Python's and pip's manners, the venv on PATH.
        "MPLCONFIGDIR",
        "PATH",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "PIP_DISABLE_PIP_VERSION_CHECK",
        "PIP_NO_CACHE_DIR",
    }
)

# What /metrics serves (bot/runtime/metrics.py); the alerts may read nothing else, but
# Prometheus' own ``up``.
METRICS = frozenset(
    {
        "outpost_updates_total",
        "outpost_update_seconds",
        "outpost_sends_total",
        "outpost_dead_letters_total",
        "outpost_outbox_pending",
        "outpost_outbox_oldest_seconds",
        "outpost_scheduler_lease_held",
        "outpost_scheduler_lease_info",
        "outpost_dead_letters",
        # Beside them: whether the database answered the scrape's reads (without it the
        # gauges above are missing, and the alerts on them silent).
        "outpost_database_up",
    }
)
HISTOGRAMS = frozenset({"outpost_update_seconds"})
LABEL_VALUES = {
    ("outpost_updates_total", "result"): {"handled", "failed"},
    ("outpost_sends_total", "result"): {"ok", "429", "failed"},
}


def _drain_seconds() -> float:
    default = inspect.signature(Supervisor).parameters["drain_seconds"].default
    assert isinstance(default, int | float)
    return float(default)


def _seconds(text: str) -> float:
    """systemd's and compose's durations: 90, 90s, 1m30s, 2min."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", str(text).strip())
    assert parts, f"not a duration: {text!r}"
    return sum(float(n) * units[unit] for n, unit in parts)


# ---- reading the files ---------------------------------------------------------------

_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def production_section() -> str:
    text = README.read_text("utf-8")
    found = re.search(r"^## Production\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert found, "the README has no '## Production' section"
    return found.group(1)


def markdown_code(text: str) -> Iterator[tuple[str, bool]]:
    """The shell lines of a Markdown text, each with whether it is a mere mention: each
    line of its fenced blocks (`\\` continuations joined), then each code span outside
    them, which may name a command without all it needs (`outpost backup` makes ...)."""
    for match in _FENCE.finditer(text):
        yield from ((line, False) for line in _joined(match.group(2)))
    for span in _CODE_SPAN.finditer(_FENCE.sub("", text)):
        yield span.group(1), True


def _joined(block: str) -> Iterator[str]:
    yield from (line.strip() for line in re.sub(r"\\\n", " ", block).splitlines())


def unit_lines(path: Path) -> list[tuple[str, str]]:
    """A systemd unit's ``Key=value`` lines, in order (keys may repeat)."""
    pairs = []
    for raw in path.read_text("utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            pairs.append((key.strip(), value.strip()))
    return pairs


def unit_value(path: Path, key: str) -> str:
    values = [value for k, value in unit_lines(path) if k == key]
    assert len(values) == 1, f"{path.name}: {key}= {len(values)} times"
    return values[0]


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text("utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def alert_rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((DEPLOY / "alerts.yml").read_text("utf-8"))
    return [rule for group in loaded["groups"] for rule in group["rules"]]


# ---- environment variables -----------------------------------------------------------

_NAME = r"[A-Z][A-Z0-9_]*"
# Signals and socket options are written in capitals too, but nobody sets them.
_NOT_VARIABLES = re.compile(r"SIG[A-Z]+|SO_[A-Z_]+")


def env_file_names(text: str) -> set[str]:
    """KEY=value lines, and the commented ones showing a default."""
    return set(re.findall(rf"^#?[ \t]*({_NAME})=", text, re.MULTILINE))


def references(text: str) -> set[str]:
    """$NAME and ${NAME} (not systemd's $$, an escaped dollar)."""
    return set(re.findall(rf"(?<!\$)\$\{{?({_NAME})", text))


def shell_names(line: str) -> set[str]:
    """The variables a shell line sets or reads."""
    assigned = re.findall(rf"(?:^|[\s\"'])({_NAME})=", line)
    return set(assigned) | references(line)


def markdown_names(text: str) -> set[str]:
    names: set[str] = set()
    for match in _FENCE.finditer(text):
        for line in _joined(match.group(2)):
            names |= shell_names(line)
    for span in _CODE_SPAN.finditer(_FENCE.sub("", text)):
        whole = re.fullmatch(rf"({_NAME})(?:=.*)?", span.group(1))
        if whole:
            names.add(whole.group(1))
        else:
            names |= shell_names(span.group(1))
    return {name for name in names if not _NOT_VARIABLES.fullmatch(name)}


def compose_names(document: dict[str, Any], text: str) -> set[str]:
    names = references(text)
    for service in document["services"].values():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.partition("=")[::2] for item in environment)
        names |= set(environment)
    return names


def unit_names(path: Path) -> set[str]:
    names = set()
    for key, value in unit_lines(path):
        if key == "Environment":
            names |= set(re.findall(rf"(?:^|\s)\"?({_NAME})=", value))
        names |= references(value)
    return names


def dockerfile_names(path: Path) -> set[str]:
    names = set()
    for word, rest in dockerfile_instructions(path):
        if word in ("ENV", "ARG"):
            names |= set(re.findall(rf"(?:^|\s)({_NAME})=", rest))
        names |= references(rest)
    return names


def named_variables() -> dict[str, set[str]]:
    """Each source's variables."""
    compose_text = (DEPLOY / "compose.yaml").read_text("utf-8")
    sources = {
        "deploy/outpost.env.example": env_file_names(
            (DEPLOY / "outpost.env.example").read_text("utf-8")
        ),
        "deploy/compose.yaml": compose_names(compose(), compose_text),
        "deploy/Dockerfile": dockerfile_names(DEPLOY / "Dockerfile"),
        "deploy/Caddyfile": set(
            re.findall(rf"\{{\$({_NAME})", (DEPLOY / "Caddyfile").read_text("utf-8"))
        ),
        "deploy/outpost.sh": references((DEPLOY / "outpost.sh").read_text("utf-8")),
        "README.md (Production)": markdown_names(production_section()),
        "docs/operations.md": markdown_names(OPERATIONS.read_text("utf-8")),
    }
    for unit in sorted(DEPLOY.glob("*.service")):
        sources[f"deploy/{unit.name}"] = unit_names(unit)
    return sources


def test_every_variable_named_is_a_setting_or_a_documented_other() -> None:
    strays = {
        source: sorted(names - SETTINGS - NOT_SETTINGS)
        for source, names in named_variables().items()
        if names - SETTINGS - NOT_SETTINGS
    }
    assert not strays, f"not settings of bot.settings.Settings (nor in NOT_SETTINGS here): {strays}"


def test_the_variable_check_sees_what_it_looks_for() -> None:
    assert env_file_names("# head: one KEY=value a line\nBOT_TOKEN=x\n# WORKERS=3\n") == {
        "BOT_TOKEN",
        "WORKERS",
    }
    assert markdown_names(
        "Set `WEBHOOK_URL`, `DATABASE_URL=postgres://…`, not `SIGTERM`.\n"
        "```sh\nFOO_BAR=1 outpost run  # then ${REDIS_URL}\necho $$(date)\n```\n"
    ) == {"WEBHOOK_URL", "DATABASE_URL", "FOO_BAR", "REDIS_URL"}
    names = named_variables()
    assert {"BOT_TOKEN", "WEBHOOK_SECRET", "WORKERS"} <= names["deploy/outpost.env.example"]
    assert {"DATABASE_URL", "POSTGRES_PASSWORD"} <= names["deploy/compose.yaml"]
    assert {"ADMIN_CHAT_ID", "WEBHOOK_URL", "REDIS_URL"} <= names["README.md (Production)"]


def _example_values() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "outpost.env.example").read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"not NAME=value: {line!r}"
            assert re.fullmatch(_NAME, name), f"not NAME=value: {line!r}"
            assert value == value.strip(), f"spaces around the value: {line!r}"
            assert not value.startswith(("'", '"')), f"quotes: {line!r}"
            values[name] = value
    return values


def test_the_example_settings_name_every_setting_and_hold_together(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in list(os.environ):
        if name.upper() in SETTINGS:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    listed = env_file_names((DEPLOY / "outpost.env.example").read_text("utf-8"))
    missing = sorted(SETTINGS - listed)
    assert not missing, f"add them to deploy/outpost.env.example, commented if optional: {missing}"
    values = _example_values()
    for needed in ("BOT_TOKEN", "ADMIN_CHAT_ID", "DATABASE_URL", "REDIS_URL", "WEBHOOK_URL"):
        assert values.get(needed), f"a production run needs {needed}"
    given = {name.lower(): value for name, value in values.items() if value}
    settings = Settings(_env_file=None, **given)
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.webhook_secret is not None
    assert settings.workers > 1


# ---- outpost commands ------------------------------------------------------------------

_OPERATORS = frozenset({"&&", "||", "|", ";", "&", "(", ")", "<", ">", ">>", "2>&1"})
_SUBCOMMAND = re.compile(r"[a-z][a-z-]*|--version|--help|-h")


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote in prose: words will do
        return line.split()


def outpost_commands(line: str) -> list[list[str]]:
    """The arguments of each ``outpost`` command a shell line runs: after a word that
    is ``outpost`` or ends in ``/bin/outpost`` and is followed by a subcommand (so not
    the user ``outpost`` of ``sudo -u outpost``), up to a shell operator. ``sh -c``'s
    script is read too."""
    found = []
    tokens = _tokens(line)
    for i, token in enumerate(tokens):
        if " " in token:
            found += outpost_commands(token)
            continue
        if token != "outpost" and not token.endswith("/bin/outpost"):
            continue
        rest = tokens[i + 1 :]
        if not rest or not _SUBCOMMAND.fullmatch(rest[0]):
            continue
        args = []
        for arg in rest:
            if arg in _OPERATORS or arg.startswith((">", "<", "|", "&", ";")):
                break
            args.append(arg)
        found.append(args)
    return found


def parse_problem(args: list[str], *, mention: bool = False) -> str | None:
    """Why ``outpost ARGS`` would be refused as usage, or None. A ``mention`` need not
    give the arguments the command requires."""
    if args[:1] == ["sandbox"]:
        return None  # its own parser (bot.cli.main hands it over whole)
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said), contextlib.redirect_stdout(io.StringIO()):
            _parser().parse_args(args)
    except SystemExit as exc:
        if exc.code not in (0, None):
            problem = said.getvalue().strip().splitlines()[-1]
            if not (mention and "arguments are required" in problem):
                return problem
    return None


def _compose_commands() -> Iterator[str]:
    for service in compose()["services"].values():
        for key in ("command", "entrypoint"):
            value = service.get(key)
            if isinstance(value, list):
                yield shlex.join(value)
            elif isinstance(value, str):
                yield value


def command_lines() -> dict[str, list[tuple[str, bool]]]:
    """Each source's shell lines, each with whether it is a mere mention."""
    sources: dict[str, list[str]] = {}
    for unit in sorted(DEPLOY.glob("*.service")):
        sources[f"deploy/{unit.name}"] = [
            value.lstrip("-@+!:") for key, value in unit_lines(unit) if key.startswith("Exec")
        ]
    sources["deploy/compose.yaml"] = list(_compose_commands())
    dockerfile = []
    for word, rest in dockerfile_instructions(DEPLOY / "Dockerfile"):
        if word in ("RUN", "CMD", "ENTRYPOINT"):
            dockerfile.append(shlex.join(json.loads(rest)) if rest.startswith("[") else rest)
    sources["deploy/Dockerfile"] = dockerfile
    lines = {source: [(line, False) for line in given] for source, given in sources.items()}
    lines["README.md (Production)"] = list(markdown_code(production_section()))
    lines["docs/operations.md"] = list(markdown_code(OPERATIONS.read_text("utf-8")))
    return lines


def all_commands() -> dict[str, list[tuple[list[str], bool]]]:
    return {
        source: [(args, mention) for line, mention in lines for args in outpost_commands(line)]
        for source, lines in command_lines().items()
    }


def test_every_outpost_command_given_is_one_the_cli_takes() -> None:
    refused = [
        f"{source}: outpost {shlex.join(args)}: {problem}"
        for source, commands in all_commands().items()
        for args, mention in commands
        if (problem := parse_problem(args, mention=mention)) is not None
    ]
    assert not refused, "\n".join(refused)


def test_the_commands_are_found_where_they_are_given() -> None:
    found = {
        source: {shlex.join(args) for args, _ in commands}
        for source, commands in all_commands().items()
    }
    assert {"migrate", "run"} <= found["deploy/outpost.service"]
    assert any(c.startswith("backup --out ") for c in found["deploy/outpost-backup.service"])
    assert {"migrate", "run"} <= found["deploy/compose.yaml"]
    assert "run" in found["deploy/Dockerfile"]
    readme = found["README.md (Production)"]
    for command in ("migrate", "run --workers 3", "backup --out FILE", "restore FILE"):
        assert command in readme, f"the Production section does not give `outpost {command}`"
    operations = found["docs/operations.md"]
    assert any(c.startswith("restore ") for c in operations)
    assert any(c.startswith("backup --out ") for c in operations)


def test_the_command_check_can_fail() -> None:
    line = "sudo -u outpost /opt/x/.venv/bin/outpost migrate && outpost bakup --out f > log"
    assert outpost_commands(line) == [["migrate"], ["bakup", "--out", "f"]]
    assert outpost_commands("/bin/sh -c 'exec outpost backup --out \"/b/$$(date).dump\"'") == [
        ["backup", "--out", "/b/$$(date).dump"]
    ]
    assert outpost_commands("sudo useradd --home-dir /var/lib/outpost outpost") == []
    # A database named like the bot, after an option, reads as a command: the documents
    # write --owner=outpost instead, which the check then leaves alone.
    assert outpost_commands("createdb -O outpost outpost") == [["outpost"]]
    assert outpost_commands("createdb --owner=outpost outpost") == []
    assert parse_problem(["migrate"]) is None
    assert parse_problem(["--version"]) is None
    assert parse_problem(["bakup"]) is not None
    assert parse_problem(["backup"]) is not None
    assert parse_problem(["backup"], mention=True) is None
    assert parse_problem(["bakup"], mention=True) is not None
    assert parse_problem(["run", "--wrokers", "3"]) is not None


# ---- the systemd units -------------------------------------------------------------------

SERVICE = DEPLOY / "outpost.service"


def test_the_service_drains_under_its_own_user() -> None:
    user = unit_value(SERVICE, "User")
    assert user not in ("", "root", "0")
    assert unit_value(SERVICE, "EnvironmentFile") == "/etc/outpost/outpost.env"
    assert outpost_commands(unit_value(SERVICE, "ExecStartPre")) == [["migrate"]]
    assert outpost_commands(unit_value(SERVICE, "ExecStart"))[0][0] == "run"
    assert unit_value(SERVICE, "KillSignal") == "SIGTERM"
    # SIGTERM to the supervisor alone: it passes it on and waits for the drain.
    assert unit_value(SERVICE, "KillMode") == "mixed"
    stop = _seconds(unit_value(SERVICE, "TimeoutStopSec"))
    assert stop > _drain_seconds(), "systemd would kill the workers in the middle of the drain"
    assert unit_value(SERVICE, "Restart") == "on-failure"
    for hardening in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "ProtectHome"):
        assert unit_value(SERVICE, hardening) in ("yes", "strict"), hardening
    backup = DEPLOY / "outpost-backup.service"
    assert unit_value(backup, "User") == user
    assert unit_value(backup, "EnvironmentFile") == "/etc/outpost/outpost.env"
    assert (DEPLOY / "outpost-backup.timer").is_file()


def test_systemd_reads_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no systemd-analyze here to read the units")
    # The release's command is not installed here: systemd is given one that is.
    for unit in [*DEPLOY.glob("*.service"), *DEPLOY.glob("*.timer")]:
        text = unit.read_text("utf-8").replace(
            "/opt/outpost/current/.venv/bin/outpost", "/bin/true"
        )
        (tmp_path / unit.name).write_text(text, "utf-8")
    units = sorted(str(p) for p in tmp_path.iterdir())
    done = subprocess.run(
        [analyze, "verify", *units], capture_output=True, text=True, timeout=60, check=False
    )
    said = (done.stdout + done.stderr).strip()
    assert not said, said
    assert done.returncode == 0


# ---- Docker --------------------------------------------------------------------------------


def test_the_image_installs_from_the_lock() -> None:
    instructions = dockerfile_instructions(DEPLOY / "Dockerfile")
    base = next(rest for word, rest in instructions if word == "FROM")
    assert base.startswith("python:3.11"), base
    copied = " ".join(rest for word, rest in instructions if word == "COPY")
    assert "requirements.lock" in copied
    installs = [
        command
        for word, rest in instructions
        if word == "RUN"
        for command in re.split(r"&&|;", rest)
        if "pip install" in command
    ]
    assert any("--require-hashes -r requirements.lock" in c for c in installs), installs
    # Anything else installed must bring nothing the lock does not pin.
    for command in installs:
        assert "requirements.lock" in command or "--no-deps" in command, command


def test_compose_runs_the_bot_on_postgres_and_redis_with_healthchecks() -> None:
    services = compose()["services"]
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    bot = services["bot"]
    build = bot["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    for name in ("postgres", "redis", "bot"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    assert "/healthz" in " ".join(bot["healthcheck"]["test"])
    # The settings from the file made from the example; the network's own beside them.
    assert bot["env_file"] == "outpost.env"
    assert (DEPLOY / "outpost.env.example").is_file()
    conditions = {name: dep["condition"] for name, dep in bot["depends_on"].items()}
    assert conditions == {
        "migrate": "service_completed_successfully",
        "postgres": "service_healthy",
        "redis": "service_healthy",
    }
    # Only the machine's own proxy reaches the port (and with it /metrics).
    assert all(str(port).startswith("127.0.0.1:") for port in bot["ports"]), bot["ports"]
    assert _seconds(bot["stop_grace_period"]) > _drain_seconds()
    assert bot.get("stop_signal", "SIGTERM") == "SIGTERM"


# ---- Prometheus ----------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b")
_SELECTOR = re.compile(r"\b(outpost_[a-z0-9_]+)\{([^}]*)\}")


def metric_names(expr: str) -> set[str]:
    """The metrics a PromQL expression reads: its outpost_* names, and ``up``."""
    names = {word for word in _IDENTIFIER.findall(expr) if word.startswith("outpost_")}
    return names | ({"up"} if re.search(r"\bup\{", expr) else set())


def _family(name: str) -> str:
    for histogram in HISTOGRAMS:
        if name in {f"{histogram}_{suffix}" for suffix in ("bucket", "sum", "count")}:
            return histogram
    return name


@pytest.mark.parametrize("name", ["compose.yaml", "alerts.yml", "prometheus.yml"])
def test_the_yaml_parses(name: str) -> None:
    assert isinstance(yaml.safe_load((DEPLOY / name).read_text("utf-8")), dict)


def test_the_alerts_read_only_what_the_bot_serves() -> None:
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), names
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        expr = rule["expr"]
        assert expr.count("(") == expr.count(")"), rule["alert"]
        unknown = {_family(n) for n in metric_names(expr)} - METRICS - {"up"}
        assert not unknown, f"{rule['alert']} reads metrics the bot does not serve: {unknown}"
        for name, selector in _SELECTOR.findall(expr):
            for label, value in re.findall(r'(\w+)\s*=~?\s*"([^"]*)"', selector):
                allowed = LABEL_VALUES.get((name, label))
                assert allowed is not None, f"{rule['alert']}: {name} has no label {label}"
                assert value in allowed, f"{rule['alert']}: {name}{{{label}={value!r}}}"


def test_the_alerts_watch_what_the_operator_needs() -> None:
    exprs = [rule["expr"] for rule in alert_rules()]

    def watched(pattern: str) -> bool:
        return any(re.search(pattern, expr) for expr in exprs)

    assert watched(r"outpost_outbox_oldest_seconds\) > 300")
    assert watched(r"increase\(outpost_dead_letters_total")
    assert watched(r"outpost_scheduler_lease_held")
    assert watched(r'outpost_sends_total\{result="429"\}')
    assert watched(r'outpost_updates_total\{result="failed"\}')
    # The target down: ``up`` of the job prometheus.yml scrapes, which loads the rules.
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text("utf-8"))
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert any(watched(rf'\bup\{{job="{job}"\}} == 0') for job in jobs), jobs
    assert "alerts.yml" in config["rule_files"]


def test_the_metric_check_can_fail() -> None:
    expr = 'sum(rate(outpost_sends_total{result="429"}[5m])) / up{job="x"} + outpost_nope'
    assert metric_names(expr) == {"outpost_sends_total", "up", "outpost_nope"}
    assert _family("outpost_update_seconds_bucket") == "outpost_update_seconds"
    assert _SELECTOR.findall(expr) == [("outpost_sends_total", 'result="429"')]


# ---- the lock files --------------------------------------------------------------------------

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def pins(path: Path) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in _PIN.findall(path.read_text())}


def test_the_locks_pin_everything_with_hashes() -> None:
    for lock in (LOCK, DEV_LOCK):
        text = lock.read_text("utf-8")
        entries = [e for e in re.split(r"\n(?=\S)", text) if e.strip() and not e.startswith("#")]
        assert entries, f"{lock.name} is empty"
        for entry in entries:
            assert _PIN.match(entry), f"{lock.name}: not pinned: {entry.splitlines()[0]}"
            assert "--hash=sha256:" in entry, f"{lock.name}: no hash: {entry.splitlines()[0]}"
        # Made from this machine's pip configuration, but naming none of it.
        assert not re.search(r"--(?:extra-)?index-url|--find-links|file://", text), lock.name
    runtime, dev = pins(LOCK), pins(DEV_LOCK)
    differ = {name: (v, dev.get(name)) for name, v in runtime.items() if dev.get(name) != v}
    assert not differ, f"the tests must run the versions deploy/ installs: {differ}"


def test_the_locks_hold_what_pyproject_asks_for() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    wanted = {
        LOCK: project["dependencies"],
        DEV_LOCK: project["dependencies"] + project["optional-dependencies"]["dev"],
    }
    for lock, requirements in wanted.items():
        pinned = pins(lock)
        stale = []
        for line in requirements:
            requirement = Requirement(line)
            version = pinned.get(canonicalize_name(requirement.name))
            if version is None or not requirement.specifier.contains(version, prereleases=True):
                stale.append(f"{line} (locked: {version})")
        assert not stale, f"{lock.name} is stale, run `make lock`: {stale}"


def test_make_installs_from_the_dev_lock() -> None:
    makefile = (ROOT / "Makefile").read_text("utf-8")
    stamp = re.search(r"^\$\(STAMP\):([^\n]*)\n((?:\t[^\n]*\n)+)", makefile, re.MULTILINE)
    assert stamp, "the Makefile has no $(STAMP) rule"
    assert "$(DEV_LOCK)" in stamp.group(1)
    assert "--require-hashes -r $(DEV_LOCK)" in stamp.group(2)
    assert "--no-deps -e ." in stamp.group(2)
    assert re.search(r"^DEV_LOCK := requirements-dev\.lock$", makefile, re.MULTILINE)
    assert re.search(r"^lock:", makefile, re.MULTILINE)
    assert "make test" in (ROOT / ".ci" / "run").read_text("utf-8")


# ---- the README ------------------------------------------------------------------------------


def test_the_readme_says_how_to_run_it_in_production() -> None:
    section = production_section()
    assert "docs/operations.md" in section
    for needed in (
        "BotFather",
        "Privacy mode",
        "ADMIN_CHAT_ID",
        "administrator",
        "DATABASE_URL",
        "REDIS_URL",
        "WEBHOOK_URL",
        "WEBHOOK_SECRET",
        "WORKERS",
        "/healthz",
        "/metrics",
        "alerts.yml",
        "outpost migrate",
        "outpost backup",
        "outpost restore",
    ):
        assert needed in section, f"the Production section does not mention {needed}"
