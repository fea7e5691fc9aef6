"""Tamper-evident audit log (DESIGN §6)."""
