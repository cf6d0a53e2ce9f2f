"""The `redis_sentinel` fleet backend: Redis masters monitored by Sentinel.

Each monitored master name is one service of kind redis. Modules: `wire` (redis-py's
asyncio clients), `parse` (the answers, distrusted), `reader` and `state` (one master as
Sentinel and its nodes describe it), `plans` (dry runs and their steps), `fleet` (the
ports), `backend` (its `app.yaml` settings).
"""

from integrations.fleet.redis_sentinel.fleet import SentinelFleet

__all__ = ["SentinelFleet"]
