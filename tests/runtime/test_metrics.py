"""The Prometheus metrics: what the recorders count, the text a scrape reads, the sums
across worker processes, and the figures read from the database at the scrape.

The counters are the process's (as they are in the bot): a test compares them before
and after what it does, never with absolute numbers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.types import ErrorEvent, Message, Update
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.limits import Limiter
from bot.delivery.session import pace
from bot.domain.errors import NotPermitted
from bot.runtime import metrics
from bot.runtime.status import Status, status_routes
from storage.models import DeadLetter, Lease, OutboxMessage
from tests.delivery.clocks import InstantTime
from tests.telegram import TOKEN, RecordingSession

ALICE = 1001
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str | bytes) -> Samples:
    if isinstance(text, bytes):
        text = text.decode()
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def scrape(figures: metrics.Figures | None = None) -> Samples:
    return parse(metrics.render(figures))


def update(text: str) -> Update:
    return Update.model_validate(
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": ALICE, "type": "private"},
                "from": {"id": ALICE, "is_bot": False, "first_name": "Alice"},
                "text": text,
            },
        }
    )


def dispatcher() -> Dispatcher:
    """Handlers that succeed, fail and refuse, and an error handler that answers every
    failure (as handlers/errors.py does), wired as bot/runtime/app.py wires them."""
    router = Router()

    @router.message(F.text == "boom")
    async def boom(message: Message) -> None:
        raise RuntimeError("a bug")

    @router.message(F.text == "no")
    async def refuse(message: Message) -> None:
        raise NotPermitted("not yours")

    @router.message()
    async def fine(message: Message) -> None:
        pass

    @router.errors()
    async def answered(event: ErrorEvent) -> None:
        pass

    dp = Dispatcher()
    dp.include_router(router)
    dp.errors.outer_middleware(metrics.note_failures)
    return dp


def run_python(code: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_recorders_load_nothing_until_enabled() -> None:
    code = """
import sys
from bot.runtime import metrics
with metrics.timing():
    pass
metrics.handled(0.1)
metrics.failed(0.1)
metrics.sent("ok")
metrics.dead_lettered()
print(metrics.enabled(), "prometheus_client" in sys.modules)
"""
    env = {k: v for k, v in os.environ.items() if k != metrics.MULTIPROC_DIR}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


async def test_updates_are_counted_handled_or_failed_and_timed() -> None:
    metrics.enable()
    dp = dispatcher()
    bot = Bot(TOKEN, session=RecordingSession())
    before = scrape()
    for text in ("hello", "no", "boom", "hello"):
        with metrics.timing():
            await dp.feed_update(bot, update(text))
    with pytest.raises(ValueError, match="escaped"), metrics.timing():
        raise ValueError("escaped the error handler")
    after = scrape()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # A refusal (a DomainError) is the bot doing its job.
    assert grew("outpost_updates_total", result="handled") == 3
    assert grew("outpost_updates_total", result="failed") == 2
    assert grew("outpost_update_seconds_count") == 5
    assert grew("outpost_update_seconds_bucket", le="+Inf") == 5
    assert grew("outpost_update_seconds_sum") >= 0
    buckets = sorted(
        float(dict(labels)["le"])
        for name, labels in after
        if name == "outpost_update_seconds_bucket"
    )
    assert buckets[0] == 0.005
    assert buckets[-2:] == [10.0, float("inf")]


async def test_each_attempt_of_a_send_or_an_edit_is_counted_by_result() -> None:
    metrics.enable()
    session = RecordingSession()
    bot = Bot(TOKEN, session=session)
    time = InstantTime()
    pace(bot, Limiter(clock=time.clock, sleep=time.sleep), jitter=lambda: 0.5)
    before = scrape()

    session.fail("SendMessage", "retry_after", retry_after=5)
    sent = await bot.send_message(ALICE, "hello")  # a 429, then through
    await bot.edit_message_text("hello again", chat_id=ALICE, message_id=sent.message_id)
    session.fail("SendMessage", "bad_request")
    with pytest.raises(Exception, match="injected"):
        await bot.send_message(ALICE, "refused")
    session.fail("SendMessage", "server")
    await bot.send_message(ALICE, "after a 500")
    await bot.get_me()  # neither a send nor an edit

    after = scrape()

    def grew(result: str) -> float:
        return value(after, "outpost_sends_total", result=result) - value(
            before, "outpost_sends_total", result=result
        )

    assert (grew("ok"), grew("429"), grew("failed")) == (3, 1, 2)


def test_dead_letters_are_counted_and_the_text_is_prometheus_format() -> None:
    metrics.enable()
    before = scrape()
    metrics.dead_lettered()
    text = metrics.render(None).decode()
    after = parse(text)
    grew = value(after, "outpost_dead_letters_total") - value(before, "outpost_dead_letters_total")
    assert grew == 1
    assert "# TYPE outpost_dead_letters_total counter" in text
    assert "# TYPE outpost_update_seconds histogram" in text
    assert "# TYPE outpost_sends_total counter" in text
    # Without figures the database's gauges are left out, and the scrape says why.
    assert value(after, "outpost_database_up") == 0
    assert not any(name.startswith("outpost_outbox") for name, _ in after)
    # No *_created series: nothing reads them.
    assert "_created" not in text


WORKER = """
import os, sys
from bot.runtime import metrics
metrics.enable()
for _ in range(int(sys.argv[1])):
    with metrics.timing():
        pass
    metrics.sent("ok")
metrics.sent("429")
metrics.dead_lettered()
print(os.getpid())
"""

SCRAPE = """
import sys
from bot.runtime import metrics
metrics.enable()
sys.stdout.write(metrics.render(None).decode())
"""


def test_worker_processes_counters_are_summed_and_outlive_their_worker(
    tmp_path: Path,
) -> None:
    env = {metrics.MULTIPROC_DIR: str(tmp_path)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(n)],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (2, 3)
    ]
    pids = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        pids.append(int(out))

    def scraped() -> Samples:
        result = run_python(SCRAPE, **env)
        assert result.returncode == 0, result.stderr
        return parse(result.stdout)

    summed = scraped()
    assert value(summed, "outpost_updates_total", result="handled") == 5
    assert value(summed, "outpost_updates_total", result="failed") == 0
    assert value(summed, "outpost_update_seconds_count") == 5
    assert value(summed, "outpost_sends_total", result="ok") == 5
    assert value(summed, "outpost_sends_total", result="429") == 2
    assert value(summed, "outpost_sends_total", result="failed") == 0
    assert value(summed, "outpost_dead_letters_total") == 2

    # The supervisor's bookkeeping for an exited worker: its counts stay in the sums.
    for pid in pids:
        metrics.mark_dead(pid, str(tmp_path))
    assert scraped() == summed


def test_multiprocess_mode_wants_its_directory(tmp_path: Path) -> None:
    result = run_python(SCRAPE, **{metrics.MULTIPROC_DIR: str(tmp_path / "missing")})
    assert result.returncode != 0
    assert "PROMETHEUS_MULTIPROC_DIR is not a directory" in result.stderr


def test_mark_dead_without_the_directory_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(metrics.MULTIPROC_DIR, raising=False)
    metrics.mark_dead(12345)


NOW = datetime.now(UTC)


async def fill(sessions: async_sessionmaker[AsyncSession], *, lease_expires: datetime) -> None:
    async with sessions() as session, session.begin():
        session.add_all(
            [
                OutboxMessage(audience="person", chat_id=ALICE, kind="k", state="pending",
                              created_at=NOW - timedelta(minutes=2)),
                OutboxMessage(audience="person", chat_id=ALICE, kind="k", state="pending",
                              created_at=NOW - timedelta(seconds=5)),
                # Older, but settled: not the backlog.
                OutboxMessage(audience="person", chat_id=ALICE, kind="k", state="sent",
                              created_at=NOW - timedelta(hours=3)),
                OutboxMessage(audience="person", chat_id=ALICE, kind="k", state="held",
                              created_at=NOW - timedelta(hours=2)),
                OutboxMessage(audience="person", chat_id=ALICE, kind="k", state="failed",
                              created_at=NOW - timedelta(hours=1)),
                Lease(name="scheduler", holder="host-a:4242:deadbeef", expires_at=lease_expires),
                # Another job's lease is not the scheduler's.
                Lease(name="other", holder="host-b:1:cafe", expires_at=NOW + timedelta(hours=1)),
                DeadLetter(bot_id=1, update_id=7, kind="message", error="text: bad"),
                DeadLetter(bot_id=1, update_id=8, kind="poll", error="poll: bad"),
            ]
        )  # fmt: skip


async def test_the_database_figures(sessions: async_sessionmaker[AsyncSession]) -> None:
    await fill(sessions, lease_expires=datetime.now(UTC) + timedelta(minutes=3))
    figures = await Status(sessions, None).figures()
    assert figures.outbox_pending == 2
    assert figures.lease_holder == "host-a:4242:deadbeef"
    assert figures.dead_letters == 2
    # The oldest pending row is two minutes old (and no older than this test).
    age = (datetime.now(UTC) - (NOW - timedelta(minutes=2))).total_seconds()
    assert 120 <= figures.outbox_oldest_seconds <= age

    samples = scrape(figures)
    assert value(samples, "outpost_database_up") == 1
    assert value(samples, "outpost_outbox_pending") == 2
    assert value(samples, "outpost_outbox_oldest_seconds") == figures.outbox_oldest_seconds
    assert value(samples, "outpost_scheduler_lease_held") == 1
    assert value(samples, "outpost_scheduler_lease_info", holder="host-a:4242:deadbeef") == 1
    assert value(samples, "outpost_dead_letters") == 2


async def test_an_expired_lease_and_an_empty_outbox(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        session.add(Lease(name="scheduler", holder="gone:1:x", expires_at=NOW - timedelta(1)))
    figures = await Status(sessions, None).figures()
    assert figures == metrics.Figures(0, 0.0, None, 0)
    samples = scrape(figures)
    assert value(samples, "outpost_scheduler_lease_held") == 0
    assert not [name for name, _ in samples if name == "outpost_scheduler_lease_info"]
    assert value(samples, "outpost_outbox_oldest_seconds") == 0


async def client(status: Status) -> TestClient[Any, Any]:
    app = web.Application()
    status_routes(app, status)
    test_client: TestClient[Any, Any] = TestClient(TestServer(app))
    await test_client.start_server()
    return test_client


async def test_the_metrics_endpoint(sessions: async_sessionmaker[AsyncSession]) -> None:
    await fill(sessions, lease_expires=datetime.now(UTC) + timedelta(minutes=3))
    http = await client(Status(sessions, None))
    try:
        response = await http.get("/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        samples = parse(await response.text())
    finally:
        await http.close()
    assert value(samples, "outpost_outbox_pending") == 2
    assert value(samples, "outpost_scheduler_lease_held") == 1
    assert ("outpost_updates_total", (("result", "handled"),)) in samples


async def test_the_metrics_endpoint_without_the_database(tmp_path: Path) -> None:
    from storage.engine import create_engine, session_factory

    secret = "hunter2-db"
    url = f"postgresql+asyncpg://outpost:{secret}@127.0.0.1:1/outpost"
    engine = create_engine(url)
    http = await client(Status(session_factory(engine), None))
    try:
        response = await http.get("/metrics")
        text = await response.text()
    finally:
        await http.close()
        await engine.dispose()
    # The counters still answer; the database's figures are missing, and said to be.
    assert response.status == 200
    samples = parse(text)
    assert value(samples, "outpost_database_up") == 0
    assert "outpost_outbox_pending" not in text
    assert secret not in text
    assert "127.0.0.1:1" not in text
