"""Draining: on SIGTERM an instance first says it is not ready and goes on serving for
REFERRAL_SHUTDOWN_DRAIN_SECONDS, then stops accepting and lets the requests in flight finish.

Without the drain, a load balancer that has not yet noticed the stop keeps sending connections until
the listening socket closes; the ones that arrive in that last moment (accepted by the kernel, not yet
read) are reset, and a balancer may not retry them, since the request may have been sent. With it, the
balancer's health check (`/health/ready`, now 503) takes the instance out while it still serves.

The flag is the process's own: a process that drains is on its way out as a whole.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

import uvicorn

from referral_service.logging import get_logger

log = get_logger(__name__)
_draining = threading.Event()


def is_draining() -> bool:
    return _draining.is_set()


def start_draining() -> None:
    _draining.set()


def stop_draining() -> None:
    """For tests that drain within one long-lived process."""
    _draining.clear()


class DrainingServer(uvicorn.Server):
    """uvicorn's server, with the drain before its graceful shutdown on the first SIGTERM (a second one
    ends the drain at once). SIGINT (Ctrl+C) stops at once, as uvicorn does. A SIGTERM is not raised
    again after the shutdown, so a stop asked for and done exits 0, not with the signal's status 143."""

    def __init__(self, config: uvicorn.Config, *, drain_seconds: float) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds
        self._drain_until: float | None = None
        self._drain_logged = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM:
            super().handle_exit(sig, frame)
        elif self._drain_until is None and self.drain_seconds > 0:
            start_draining()
            self._drain_until = time.monotonic() + self.drain_seconds
        else:
            self.should_exit = True

    async def on_tick(self, counter: int) -> bool:
        # Called every 0.1 s by uvicorn's main loop; logs here, not in the signal handler, which may
        # interrupt a write to the same stream.
        if self._drain_until is not None:
            if not self._drain_logged:
                self._drain_logged = True
                log.info("service.draining", duration_ms=round(self.drain_seconds * 1000))
            if time.monotonic() >= self._drain_until:
                self.should_exit = True
        return await super().on_tick(counter)
