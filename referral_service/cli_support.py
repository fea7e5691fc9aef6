"""Helpers every command group of the CLI shares."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click

from referral_service.settings import Settings, SettingsError, load_settings

T = TypeVar("T")


def load_cli_settings() -> Settings:
    """Settings from the environment, or a clear one-line error instead of a traceback."""
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def run_async(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(main())
