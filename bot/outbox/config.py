"""`outbox:` in `app.yaml`: how the outbox paces and retries Slack writes."""

from __future__ import annotations

from pydantic import Field

from bot.config_model import StrictModel


class OutboxConfig(StrictModel):
    per_channel_interval_seconds: float = Field(default=1.0, ge=0)
    max_backoff_seconds: float = Field(default=300.0, gt=0)
    poll_interval_seconds: float = Field(default=0.2, gt=0)
    # How long a replica holds a lane while it sends; after a crash the lane waits this long
    # for another replica (or at once for a restart under the same `server.replica_id`).
    lane_lease_seconds: float = Field(default=30.0, gt=0, le=600)
