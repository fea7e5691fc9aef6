"""Referrals from police stations to WEISSER RING branches."""
