"""Alembic migrations, valid on SQLite (batch mode) and PostgreSQL. Run with `referral-service migrate`."""
