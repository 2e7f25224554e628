"""Who acts: the roles of docs/design.md part A, plus the scheduler acting as ``system``."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OBSERVER = "observer"
    ADMIN = "admin"
    LIAISON = "liaison"
    SYSTEM = "system"
