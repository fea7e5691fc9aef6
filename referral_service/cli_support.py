"""Helpers every command group of the CLI shares."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
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


def write_generated_doc(path: Path, text: str, module: str, argv: list[str]) -> int:
    """A document generated from the code: written, or with `--check` compared (exit 1 when stale)."""
    if "--check" in argv:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is stale; run python -m {module}", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0
