"""The complaint domain (DESIGN §5): the central police complaints office ("Zentrale Beschwerdestelle").

Depends on the kernel (`referral_service.{db,keys,audit,identity,problems}`) and `crypto` only.
"""
