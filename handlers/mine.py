"""Placeholder: built in this issue."""

from __future__ import annotations

from aiogram import Router
from aiogram.utils.i18n import I18n


def setup(i18n: I18n) -> Router:
    return Router(name="mine")
