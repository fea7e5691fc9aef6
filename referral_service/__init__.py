"""Victim-support referrals (police -> WEISSER RING) and the shared kernel of the service.

Layering (checked by tests/test_architecture.py): `crypto` <- kernel (`referral_service.{settings,db,
logging,problems,identity,audit,...}`) <- domains (`referral_service.referrals`, `complaints`) <-
`referral_service.app`, the only module that imports every domain.
"""
