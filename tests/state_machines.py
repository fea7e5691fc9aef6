"""Running a hypothesis state machine against the application from an async test.

The machine's rules are synchronous (hypothesis calls them from its own thread), the application and
the database live on the test's event loop: `Bridge` carries each call over, `run_machine` runs the
machine in a thread with the budget both workflows' property tests share.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

T = TypeVar("T")

# Enough random sequences to reach every state of both workflows, within a few seconds per engine.
BUDGET = settings(
    max_examples=40,
    stateful_step_count=12,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class Bridge:
    """Runs the application's coroutines on the test's event loop from hypothesis' thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def run(self, coroutine: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout=60)


async def run_machine(machine: type[RuleBasedStateMachine]) -> None:
    await asyncio.to_thread(run_state_machine_as_test, machine, settings=BUDGET)
