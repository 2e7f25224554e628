"""Who holds a lease (an outbox row's, the scheduler's): this host, this process and a
nonce, since pids are reused. The supervisor of webhook workers tells a worker it
starts again which pid died (``OUTPOST_REPLACES``), and the new worker frees at once
what the dead one held, on this host only, instead of waiting for the leases to run out.
"""

from __future__ import annotations

import os
import socket
import uuid

REPLACES_ENV = "OUTPOST_REPLACES"


def holder_prefix(pid: int | None = None) -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid() if pid is None else pid}:"


def new_holder() -> str:
    return holder_prefix() + uuid.uuid4().hex[:8]


def replaced_pids() -> list[int]:
    """The pids of dead workers this process replaces (none outside a supervisor)."""
    value = os.environ.get(REPLACES_ENV, "")
    return [int(part) for part in value.split(",") if part.strip().isdigit()]
