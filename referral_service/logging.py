"""Structured logging (structlog): console in development, JSON in production.

Personal data must never reach a log line. Rather than trying to recognise it, the last processor
keeps only keys from an allow-list of values the code controls (ids, codes, counts, timings); any other
key is dropped and only its name is reported. Exceptions are logged as type and stack frames, without
their message, because driver and validation messages can quote the data that caused them.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

import structlog
from opentelemetry import trace

from referral_service.settings import LogFormat, Settings

# Keys whose values are produced by our code and carry no personal data.
SAFE_KEYS = frozenset(
    {
        "event",
        "level",
        "logger",
        "timestamp",
        "request_id",
        "method",
        "path",
        "route",
        "status",
        "duration_ms",
        "code",
        "exc_type",
        "exc_frames",
        "environment",
        "database",
        "host",
        "port",
        "revision",
        "action",
        "outcome",
        "count",
        "total",
        "tree_size",
        "seq",
        "kek_version",
        "case_id",
        "referral_id",
        "complaint_id",
        "user_id",
        "unit_id",
        "job",
        # Which instance led a background job, which lock, and when (referral_service/leadership.py).
        "instance",
        "lock",
        "led_from",
        "led_until",
        # The request's OpenTelemetry trace, when tracing is on (referral_service/metrics/tracing.py).
        "trace_id",
        "span_id",
        "dropped_keys",
    }
)


def add_trace_ids(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The current span's trace and span id (hex, as trace stores show them), so that a log line and its
    trace find each other; nothing when no span is recording (tracing off, or outside a request)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def drop_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    dropped = sorted(key for key in event_dict if key not in SAFE_KEYS)
    for key in dropped:
        del event_dict[key]
    if dropped:
        event_dict["dropped_keys"] = dropped
    return event_dict


def exception_fields(exc: BaseException) -> dict[str, Any]:
    """Loggable description of an exception: its type and where it was raised, not its message."""
    frames = [
        f"{frame.filename}:{frame.lineno} in {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)
    ]
    return {"exc_type": f"{type(exc).__module__}.{type(exc).__qualname__}", "exc_frames": frames[-12:]}


def configure_logging(settings: Settings) -> None:
    level = logging.getLevelNamesMapping().get(settings.log_level, logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        drop_personal_data,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_format is LogFormat.JSON
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Resolved per logger, not at configuration time, so redirected stderr (tests, daemons) is honoured.
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    # Libraries log through the standard library; send them through the same filter and renderer.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared[:-1]],
            processors=[
                _stdlib_message_only,
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                drop_personal_data,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log prints full URLs including query strings; our middleware logs requests.
    logging.getLogger("uvicorn.access").disabled = True


# Libraries whose plain messages (start-up, migration steps) carry no data; everything else is reduced.
_TRUSTED_LIBRARY_LOGGERS = frozenset({"uvicorn.error", "alembic.runtime.migration"})


def _stdlib_message_only(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # Library messages are free text we do not control: keep them only from trusted loggers and never
    # with a traceback, whose exception message may quote data.
    record = event_dict.get("_record")
    has_exception = bool(event_dict.pop("exc_info", None)) or (
        isinstance(record, logging.LogRecord) and record.exc_info is not None
    )
    name = record.name if isinstance(record, logging.LogRecord) else ""
    if name not in _TRUSTED_LIBRARY_LOGGERS or has_exception:
        event_dict["event"] = "library.log"
    event_dict["logger"] = name
    return event_dict


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    return structlog.PrintLogger(sys.stderr)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
