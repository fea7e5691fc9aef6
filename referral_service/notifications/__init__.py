"""Notifications: people are told that work waits for them and where, never what the case is about."""
