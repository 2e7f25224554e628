"""The sandbox's settings; ``sandbox.server`` exports them as its public API."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 8081  # 0 picks a free port
    bot_username: str = "outpost_bot"
    limits: bool = True
    # Seconds added to every Bot API call, to imitate real round trips (50-300 ms).
    latency: float = 0.0
    global_per_second: int = 30
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: int = 20
    long_poll_max: int = 50  # cap on getUpdates' timeout, seconds
    webhook_retry_delay: float = 1.0
    # Extensions beyond the list; the names above are the contract.
    bot_first_name: str = "Outpost"
    # The bot's user id is the digits of the token it calls with; until its first call
    # the sandbox cannot know it, and updates made before then (a block's my_chat_member)
    # name this id, 0 if not given.
    bot_id: int | None = None
    webhook_max_attempts: int = 20
    webhook_timeout: float = 30.0
    # Telegram refuses an answer to a callback query that comes too long after the
    # press; it does not publish how long, and in practice it is about 10 seconds. Past
    # this many seconds, "query is too old" (--callback-answer-window).
    callback_answer_timeout: float = 10.0
    # Seeds the generators of faults given a probability (--fault-seed); a fault may
    # bring its own seed.
    fault_seed: int = 0
    # Where the world is kept between runs (the demo keeps its chats across restarts):
    # loaded at start, saved while it runs and at shutdown. None: memory only.
    state_file: str | None = None
    # Serve the chat page (sandbox/web/) at ``/``, for people to play the users by hand.
    page: bool = True
