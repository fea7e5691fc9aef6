"""The complaint domain: the central police complaints office ("Zentrale Beschwerdestelle").

Depends on the kernel (`referral_service.{db,keys,audit,identity,problems}`) and `crypto` only.
"""
