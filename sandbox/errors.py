"""The two kinds of refusal: the Bot API's (Telegram's shape) and the control API's."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Bot API error, answered as ``{"ok": false, "error_code", "description"}``."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


class Dropped(Exception):
    """A call whose answer never comes (a timeout fault): the connection is dropped, so
    the client sees what a timeout or a lost connection looks like to it."""


class ControlError(Exception):
    """A refused control API call, answered as ``{"error": ...}`` with this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
