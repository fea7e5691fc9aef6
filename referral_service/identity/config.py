"""Authentication policy in one frozen object: hashing cost, throttling, session and token lifetimes.

`create_app(settings, identity_config=...)` takes it; tests pass a controllable clock and cheap hashing.
Defaults are the production values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from referral_service.db import utcnow

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class PasswordHashing:
    """Argon2id cost. Defaults: RFC 9106 §4, second recommended option (t=3, 64 MiB, p=4)."""

    time_cost: int = 3
    memory_cost_kib: int = 64 * 1024
    parallelism: int = 4
    hash_len: int = 32
    salt_len: int = 16


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """Growing back-off: after `free_failures` failures a lock of `first_lock`, doubled for every
    further failure up to `max_lock`. Failures older than `forget_after` no longer count."""

    free_failures: int
    first_lock: dt.timedelta = dt.timedelta(minutes=1)
    max_lock: dt.timedelta = dt.timedelta(hours=1)
    forget_after: dt.timedelta = dt.timedelta(hours=24)

    def lock_for(self, failures: int) -> dt.timedelta | None:
        if failures < self.free_failures:
            return None
        doublings = min(failures - self.free_failures, 32)
        lock: dt.timedelta = self.first_lock * (1 << doublings)
        return min(lock, self.max_lock)


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    clock: Clock = utcnow
    password_hashing: PasswordHashing = field(default_factory=PasswordHashing)
    password_min_length: int = 12
    password_max_length: int = 1024
    # Per typed username, whether or not the account exists (so a lock reveals nothing).
    account_throttle: ThrottlePolicy = field(default_factory=lambda: ThrottlePolicy(free_failures=5))
    # Per client address. Higher, because a whole police station may sit behind one NAT address.
    client_throttle: ThrottlePolicy = field(default_factory=lambda: ThrottlePolicy(free_failures=20))
    session_idle_timeout: dt.timedelta = dt.timedelta(minutes=30)
    session_absolute_timeout: dt.timedelta = dt.timedelta(hours=12)
    # Writing last_seen on every request would make every read a write; this bounds the idle error.
    session_touch_interval: dt.timedelta = dt.timedelta(seconds=60)
    token_lifetime: dt.timedelta = dt.timedelta(days=30)
    totp_issuer: str = "referral-service"
    totp_window_steps: int = 1

    def now(self) -> dt.datetime:
        return self.clock()
