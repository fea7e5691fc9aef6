"""Cooperation-agreement and annual reports: the parts that belong to no domain.

Small-cell suppression, the report model and its JSON/CSV rendering, periods and scopes, and the
register of joint cooperation activities. Each domain aggregates its own cases (`reports.py`).
"""
