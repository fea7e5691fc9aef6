"""Referral use cases: intake and correction, the WEISSER RING's workflow, and reading.

Services orchestrate (state machine, consent, routing, encryption, audit); SQL lives in
`referral_service.referrals.repository`, HTTP in `referral_service.referrals.controllers` and `pages`.
"""
