"""Log lines keep only allow-listed keys, so personal data passed by mistake never reaches the log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from referral_service.logging import configure_logging, exception_fields, get_logger
from referral_service.settings import LogFormat, load_settings


def test_unknown_keys_are_dropped_and_named(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(load_settings({"REFERRAL_LOG_FORMAT": "json"}))
    get_logger("t").info(
        "referral.created", referral_id="r-1", victim_name="Erika Mustermann", phone="0351 1"
    )
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "referral.created"
    assert line["referral_id"] == "r-1"
    assert line["dropped_keys"] == ["phone", "victim_name"]
    assert "Erika" not in json.dumps(line)


def test_library_messages_are_reduced_unless_trusted(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    settings = load_settings({"REFERRAL_LOG_FORMAT": "json"})
    assert settings.log_format is LogFormat.JSON
    configure_logging(settings)
    logging.getLogger("sqlalchemy.engine").warning("value Erika Mustermann in statement")
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert lines[0]["event"] == "library.log"
    assert lines[0]["logger"] == "sqlalchemy.engine"
    assert lines[1]["event"] == "Application startup complete."
    assert "Erika" not in json.dumps(lines)


def test_exception_fields_omit_the_message() -> None:
    try:
        raise ValueError("Erika Mustermann")
    except ValueError as exc:
        fields = exception_fields(exc)
    assert fields["exc_type"] == "builtins.ValueError"
    assert "Erika" not in json.dumps(fields)
    assert fields["exc_frames"][-1].endswith("in test_exception_fields_omit_the_message")


def test_the_application_keeps_the_allow_list_for_library_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Litestar's own logging set-up used to replace ours when an application was built, so library
    lines (and their tracebacks) bypassed the allow-list in production."""
    import logging

    from referral_service.app import create_app

    settings = load_settings(
        {
            "REFERRAL_LOG_FORMAT": "json",
            "REFERRAL_VAR_DIR": str(tmp_path),
            "REFERRAL_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "REFERRAL_BACKGROUND_JOBS": "false",
        }
    )
    configure_logging(settings)
    create_app(settings)
    logging.getLogger("sqlalchemy.engine").warning("value Erika Mustermann in statement")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "library.log"
    assert "Erika" not in json.dumps(line)
