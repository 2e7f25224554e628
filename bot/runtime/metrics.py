"""What the bot counts for Prometheus: updates, sends, dead letters; and the text a scrape
reads, with what the database says at that moment.

The recorders (:func:`handled`, :func:`failed`, :func:`sent`, :func:`dead_lettered`,
:func:`timing`) cost a global lookup and nothing else until :func:`enable` is called:
prometheus_client is imported only then, so a polling bot without a status server
never loads it (tests/test_lazy_imports.py, bench/memory.py).

With ``PROMETHEUS_MULTIPROC_DIR`` set (the supervisor of the webhook workers sets it,
to a fresh directory for the run, before it starts them), every worker writes its
counters to files there and a scrape, whichever worker answers it, adds up the files of
all of them, those of workers that have exited included: a counter never goes back
because a worker was replaced. Without it the counters are the process's own.

The database's figures (the outbox's backlog, the scheduler's lease, the dead letters)
are read when a scrape asks (``bot.runtime.status``) and passed to :func:`render`: one
process reading them is enough, whichever it is.

The text is Prometheus' classic format (version 0.0.4), never OpenMetrics: in the
latter the counter ``outpost_dead_letters_total`` and the gauge
``outpost_dead_letters`` would be one family twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from bot.domain.errors import DomainError

if TYPE_CHECKING:
    from aiogram.types import TelegramObject
    from prometheus_client.metrics import Counter, Histogram
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector

MULTIPROC_DIR: Final = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
# From a button's answer (a few ms) to an update that waited for the database's writer
# or a flood-controlled reply (seconds).
UPDATE_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

SendResult = Literal["ok", "429", "failed"]
SEND_RESULTS: Final[tuple[SendResult, ...]] = ("ok", "429", "failed")


@dataclass(frozen=True, slots=True)
class Figures:
    """What the database says at a scrape."""

    outbox_pending: int
    # Age of the oldest row not yet sent; 0 when there is none.
    outbox_oldest_seconds: float
    # Who holds the scheduler's lease now (None: nobody, or it expired).
    lease_holder: str | None
    dead_letters: int


class _Recorder:
    """The process's metrics, once enabled."""

    def __init__(self, multiproc_dir: str | None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
        from prometheus_client.metrics import disable_created_metrics

        # A *_created series per counter doubles the output and no rule reads it.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        if multiproc_dir:
            from prometheus_client.multiprocess import MultiProcessCollector

            # In multi-process mode the values live in files; registering them too would
            # give each series twice (the docs' advice: register nothing, collect files).
            registry = None
            self.collector: Collector = MultiProcessCollector(  # type: ignore[no-untyped-call]
                None, path=multiproc_dir
            )
        else:
            registry = CollectorRegistry()
            # The process's memory, CPU and descriptors; meaningless per worker (whichever
            # answers the scrape), so only for a bot that runs as one process.
            ProcessCollector(registry=registry)
            self.collector = registry

        updates = Counter(
            "outpost_updates", "Updates handled, by result.", ["result"], registry=registry
        )
        self.update_seconds: Histogram = Histogram(
            "outpost_update_seconds",
            "Time to handle an update, to its commit (and its error's answer).",
            buckets=UPDATE_BUCKETS,
            registry=registry,
        )
        sends = Counter(
            "outpost_sends",
            "Bot API calls that send or edit a message, each attempt, by result.",
            ["result"],
            registry=registry,
        )
        self.dead_letters: Counter = Counter(
            "outpost_dead_letters",
            "Updates set aside unread (dead letters) by this deployment.",
            registry=registry,
        )
        # Every series exists from the start, at 0: a rate over one that appears only
        # with its first failure misses that failure.
        self.handled: Counter = updates.labels(result="handled")
        self.failed: Counter = updates.labels(result="failed")
        self.sends: dict[str, Counter] = {r: sends.labels(result=r) for r in SEND_RESULTS}


# One process, one set of counters: the recorders are called from deep in the delivery
# session and the update loop, where threading an object through would buy nothing.
_recorder: _Recorder | None = None


def enable() -> None:
    """Start counting (imports prometheus_client); once per process, later calls do
    nothing. Multi-process mode when ``PROMETHEUS_MULTIPROC_DIR`` is set."""
    global _recorder
    if _recorder is not None:
        return
    directory = os.environ.get(MULTIPROC_DIR) or None
    if directory is not None and not os.path.isdir(directory):
        raise RuntimeError(f"{MULTIPROC_DIR} is not a directory: {directory}")
    _recorder = _Recorder(directory)


def enabled() -> bool:
    return _recorder is not None


def handled(seconds: float) -> None:
    """An update handled to its commit."""
    if _recorder is not None:
        _recorder.handled.inc()
        _recorder.update_seconds.observe(seconds)


def failed(seconds: float) -> None:
    """An update whose handling failed (its error answered, or raised)."""
    if _recorder is not None:
        _recorder.failed.inc()
        _recorder.update_seconds.observe(seconds)


def sent(result: SendResult) -> None:
    """One attempt of a call that sends or edits a message."""
    if _recorder is not None:
        _recorder.sends[result].inc()


def dead_lettered() -> None:
    """An update set aside unread, recorded for the first time."""
    if _recorder is not None:
        _recorder.dead_letters.inc()


@dataclass(slots=True)
class _Handling:
    failed: bool = False


# The update being handled in this task. A holder, not a flag: code that runs in a copy
# of the context (a task started inside) still marks the same update.
_handling: ContextVar[_Handling | None] = ContextVar("outpost_handling", default=None)


@contextmanager
def timing() -> Iterator[None]:
    """Count the update handled within as handled or failed, and time it. It failed if
    it raised, or if its error reached the error handler (:func:`note_failures`); a
    refusal (a DomainError: not permitted, moved meanwhile) is the bot doing its job."""
    if _recorder is None:
        yield
        return
    mark = _Handling()
    token = _handling.set(mark)
    started = time.perf_counter()
    try:
        yield
    except Exception:
        failed(time.perf_counter() - started)
        raise
    else:
        (failed if mark.failed else handled)(time.perf_counter() - started)
    finally:
        _handling.reset(token)


async def note_failures(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    """An outer middleware for ``dp.errors``: the error handler answers a failed update
    and returns normally, so this is where :func:`timing` learns of the failure."""
    mark = _handling.get()
    # The event is aiogram's ErrorEvent, read by its field: this module loads no aiogram,
    # so the supervisor importing it for mark_dead stays small.
    error = getattr(event, "exception", None)
    if mark is not None and isinstance(error, Exception) and not isinstance(error, DomainError):
        mark.failed = True
    return await handler(event, data)


def render(figures: Figures | None) -> bytes:
    """The text for a scrape: the counters (every worker's, in multi-process mode) and
    the database's ``figures`` (None: the database did not answer, and
    ``outpost_database_up`` says so)."""
    from prometheus_client import generate_latest

    enable()
    assert _recorder is not None
    return generate_latest(_Scrape(_recorder.collector, list(_families(figures))))


class _Scrape:
    def __init__(self, collector: Collector, extra: list[Metric]) -> None:
        self._collector = collector
        self._extra = extra

    def collect(self) -> Iterable[Metric]:
        yield from self._collector.collect()
        yield from self._extra


def _families(figures: Figures | None) -> Iterator[Metric]:
    from prometheus_client.core import GaugeMetricFamily

    yield GaugeMetricFamily(
        "outpost_database_up",
        "1 when the database answered this scrape's reads, else 0.",
        value=0 if figures is None else 1,
    )
    if figures is None:
        return
    yield GaugeMetricFamily(
        "outpost_outbox_pending", "Outbox rows not yet sent.", value=figures.outbox_pending
    )
    yield GaugeMetricFamily(
        "outpost_outbox_oldest_seconds",
        "Age of the oldest outbox row not yet sent (0 when none).",
        value=figures.outbox_oldest_seconds,
    )
    yield GaugeMetricFamily(
        "outpost_scheduler_lease_held",
        "1 when a process holds the scheduler's lease (unexpired), else 0.",
        value=0 if figures.lease_holder is None else 1,
    )
    info = GaugeMetricFamily(
        "outpost_scheduler_lease_info",
        "The holder of the scheduler's lease (host:pid:nonce), when there is one.",
        labels=["holder"],
    )
    if figures.lease_holder is not None:
        info.add_metric([figures.lease_holder], 1)
    yield info
    yield GaugeMetricFamily(
        "outpost_dead_letters", "Rows in the dead-letter table.", value=figures.dead_letters
    )


def mark_dead(pid: int, directory: str | None = None) -> None:
    """For the supervisor, when worker ``pid`` exited. Only files of live gauges go
    (none today: the bot's gauges are read from the database at the scrape); a dead
    worker's counters stay in the sums, which would otherwise go back."""
    directory = directory or os.environ.get(MULTIPROC_DIR)
    if not directory:
        return
    from prometheus_client.multiprocess import mark_process_dead

    mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
