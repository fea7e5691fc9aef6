"""Where state lives that several service instances must share: Litestar's store registry.

Litestar's rate-limit middleware keeps its counters in a named store. Without configuration that is a
memory store per process, so each instance (and each `serve --workers` process) counts on its own. With
`REFERRAL_REDIS_URL` every named store is a namespace in one Redis (`<namespace>:<store name>`), and
all instances count together. Sessions and the sign-in throttle do not need this: they are in the
database already.
"""

from __future__ import annotations

from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry

from referral_service.settings import Settings


def store_registry(settings: Settings) -> tuple[StoreRegistry, RedisStore | None]:
    """The app's stores, and the Redis store to close at shutdown (None on the in-memory default)."""
    if not settings.redis_url:
        return StoreRegistry(), None
    root = RedisStore.with_client(url=settings.redis_url, namespace=settings.redis_namespace)
    return StoreRegistry(default_factory=root.with_namespace), root
