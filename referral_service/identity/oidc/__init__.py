"""Sign-in through the organisations' own OpenID providers (police and WEISSER RING), as a relying party.

`config` reads which providers exist and how their claims map to units and roles; `metadata` fetches
and caches each provider's discovery document and signing keys; `tokens` checks every token a provider
issues (ID tokens, logout tokens, client-credentials access tokens) before anything trusts a claim.
"""
