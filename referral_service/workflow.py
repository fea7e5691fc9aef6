"""A case's step from one state to the next: checked, set, recorded and audited in one transaction.

Each domain keeps its own state machine, transition table and transition rows; the mechanism is one,
so that no step can change a case without its transition row and its audit event, and every step's
event carries the same details (`from_status`, `to_status`, then the step's own).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.actions import AuditAction
from referral_service.audit.recorder import Actor, record_event


class Stateful(Protocol):
    """A case row with a state: what `transition` reads and sets."""

    id: uuid.UUID
    status: str
    updated_at: dt.datetime


Step = TypeVar("Step", bound=StrEnum)
State = TypeVar("State", bound=StrEnum)


class TransitionTable(Generic[State, Step]):
    """A domain's state machine as data: every step there is, listed once as (state, action) -> next
    state. What is not listed is refused with the domain's own error (`refuse(state, action)`)."""

    def __init__(
        self,
        states: type[State],
        steps: Mapping[tuple[State, Step], State],
        refuse: Callable[[State, Step], Exception],
    ) -> None:
        self._states = states
        self.steps = steps
        self._refuse = refuse

    def allows(self, current: State | str, action: Step) -> bool:
        """Whether `action` is a step from `current` (pages offer only these)."""
        return (self._states(current), action) in self.steps

    def actions_from(self, current: State | str) -> list[Step]:
        """The actions that are a step from `current`, in the order the domain lists them: a domain lists
        each state's usual next step first, so that pages can offer it first and fold the others away."""
        status = self._states(current)
        return [action for state, action in self.steps if state is status]

    def next_status(self, current: State | str, action: Step) -> State:
        """The state `action` leads to from `current`; the domain's error if it is not a step."""
        status = self._states(current)
        target = self.steps.get((status, action))
        if target is None:
            raise self._refuse(status, action)
        return target


async def transition(
    session: AsyncSession,
    row: Stateful,
    step: Step,
    *,
    next_status: Callable[[str, Step], str],
    transition_row: Callable[..., object],
    action: AuditAction,
    actor: Actor,
    at: dt.datetime,
    target_type: str,
    audit: Mapping[str, Any],
    details: Mapping[str, Any] | None = None,
) -> None:
    """Take `step` from `row.status` to `next_status(row.status, step)`, and record and audit it.

    `next_status` is the domain's state machine: it raises the domain's invalid-transition error
    before anything changes. `transition_row(action=, from_status=, to_status=, at=)` builds the
    domain's transition row (bound to the case and the actor, e.g. by `functools.partial`). `audit`
    holds the request's audit fields (`request_id`, `client_hash`).
    """
    before = row.status
    after = next_status(before, step)
    row.status = after
    row.updated_at = at
    session.add(row)
    session.add(transition_row(action=step.value, from_status=before, to_status=after, at=at))
    await record_event(
        session,
        action=action,
        actor=actor,
        target_type=target_type,
        target_id=str(row.id),
        details={"from_status": before, "to_status": after, **(details or {})},
        **audit,
    )
