"""Complaint services: intake, the complainant's access, the office's workflow, statement requests.

Services orchestrate (state machine, policy, encryption, audit); SQL lives in `complaints.repository`,
HTTP in `complaints.controllers`.
"""
