"""Schemathesis hooks for `tests/contract/fuzz.py`: counts every answer by operation and status.

Loaded by `st run` through SCHEMATHESIS_HOOKS; writes the counts to CONTRACT_STATUS_FILE when the run
ends, so the runner can report requests, server errors and accepted creations per caller.
"""

from __future__ import annotations

import atexit
import json
import os
from collections import Counter
from typing import Any

import schemathesis

_COUNTS: Counter[str] = Counter()


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    _COUNTS[f"{case.method.upper()} {case.operation.path} {response.status_code}"] += 1


@atexit.register
def _write_counts() -> None:
    target = os.environ.get("CONTRACT_STATUS_FILE")
    if target:
        with open(target, "w", encoding="utf-8") as file:
            json.dump(dict(_COUNTS), file, indent=1, sort_keys=True)
