"""`outpost demo` as a subprocess, and its sandbox's control API, for synchronous tests
(the browser tests drive Playwright's synchronous API)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bot.settings import Settings

T = TypeVar("T")
WAIT = float(os.environ.get("OUTPOST_E2E_WAIT", "30"))
_URL = re.compile(r"open (http://\S+?)/? in a browser")


def eventually(check: Callable[[], T | None], what: str, within: float = WAIT) -> T:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:.0f} s: {what}")
        time.sleep(0.1)


@dataclass
class Demo:
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    url: str = ""
    output: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    @property
    def database(self) -> Path:
        return self.data_dir / "outpost.db"

    def environment(self) -> dict[str, str]:
        # Nothing from the developer's shell or a .env: the demo must not need it.
        names = {name.upper() for name in Settings.model_fields}
        clean = {k: v for k, v in os.environ.items() if k.upper() not in names}
        return {**clean, "LOG_LEVEL": "INFO", **self.env}

    def start(self, *args: str) -> str:
        assert self.process is None or self.process.poll() is not None
        self.output, self.errors = [], []
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "bot", "demo"),
                *("--port", "0", "--data-dir", str(self.data_dir)),
                *args,
            ],
            cwd=self.data_dir.parent,
            env=self.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.readers = [
            self._read(self.process.stdout, self.output),
            self._read(self.process.stderr, self.errors),
        ]

        def announced() -> str | None:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the demo exited: {self.errors}")
            for line in self.output:
                match = _URL.search(line)
                if match:
                    return match.group(1)
            return None

        self.url = eventually(announced, "the demo's line with the page's address", 90)
        return self.url

    @staticmethod
    def _read(stream: Any, into: list[str]) -> threading.Thread:
        def pump() -> None:
            with stream:
                for line in stream:
                    into.append(line.rstrip("\n"))

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        return reader

    def _ended(self) -> None:
        # The readers reach the end of the output, take the last lines and close it.
        for reader in self.readers:
            reader.join(10)

    def interrupt(self, within: float = 30) -> int:
        """Ctrl-C, as a terminal sends it; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(within)
        self._ended()
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._ended()

    def log_errors(self) -> list[str]:
        path = self.data_dir / "demo.log"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [line for line in lines if " ERROR " in line or "Traceback" in line]

    # ---- the sandbox's control API -------------------------------------------------

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.load(response)

    def post(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{path}: {exc.code} {exc.read().decode()}") from None

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.get(f"/sandbox/chats/{chat_id}/messages")["messages"]
        return found

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as db:
            return db.execute(sql).fetchall()
