"""`campaigns:` in app.yaml: the rate controls' defaults and caps, and who may start,
approve and steer a campaign (docs/campaigns.md, "Configuration").

The per-service limits of `policies:` still hold for every target when its turn comes;
this section only bounds the campaign as a whole. The defaults are parsed here, at
start-up, with the same parser as a typed command: a default that a user could not type
is a config error with its path, not a surprise at 3 a.m.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from bot.campaigns.rate import RateCaps, RateDefaults, RateError, parse_rate_controls
from bot.config_model import StrictModel


class CampaignDefaults(StrictModel):
    concurrency: str = "50"
    max_errors: str = "10"
    waves: str = "1,1%,10%,100%"
    bake: str = "5m"

    def rate(self) -> RateDefaults:
        return RateDefaults(self.concurrency, self.max_errors, self.waves, self.bake)


class CampaignsConfig(StrictModel):
    enabled: bool = True
    defaults: CampaignDefaults = CampaignDefaults()
    # Caps a typed rate control may not pass.
    max_concurrency: int = Field(default=500, ge=1, le=10_000)
    max_bake_minutes: float = Field(default=120.0, ge=0, le=24 * 60)
    # A selector that names more services than this is refused at the preview.
    max_targets: int = Field(default=100_000, ge=1, le=10_000_000)
    # Roles (of `roles:`) that may start a campaign, approve one, and pause/resume/abort one.
    # Empty start/approve lists: nobody may (default deny).
    start_roles: list[str] = Field(default_factory=list)
    approve_roles: list[str] = Field(default_factory=list)
    # Unset: whoever may start or approve may also pause, resume and abort.
    control_roles: list[str] | None = None
    # Approvals needed from people other than the requester (two-person rule: at least 1).
    approvals: int = Field(default=1, ge=1, le=5)
    # How long the preview waits for its approvals.
    approval_minutes: float = Field(default=60.0, gt=0, le=24 * 60)
    # The campaign card is edited at most this often (the outbox also coalesces edits).
    card_every_seconds: float = Field(default=3.0, ge=0, le=300)
    # How often each replica looks for campaign work.
    tick_seconds: float = Field(default=1.0, gt=0, le=60)
    # A target claimed by a replica that has not started it within this time is claimed
    # again (its idempotency key makes a second start the same start).
    claim_seconds: float = Field(default=60.0, gt=0, le=3600)

    def caps(self) -> RateCaps:
        return RateCaps(self.max_concurrency, int(self.max_bake_minutes * 60))

    def steering_roles(self) -> list[str]:
        if self.control_roles is not None:
            return list(self.control_roles)
        return sorted({*self.start_roles, *self.approve_roles})

    def roles_named(self) -> set[str]:
        return {*self.start_roles, *self.approve_roles, *(self.control_roles or ())}

    @model_validator(mode="after")
    def _defaults_parse(self) -> CampaignsConfig:
        try:
            parse_rate_controls({}, defaults=self.defaults.rate(), caps=self.caps())
        except RateError as exc:
            raise ValueError(f"defaults: {exc}") from None
        return self
