"""Fleet-wide campaigns: one action over the services a selector names, in guarded waves
(docs/campaigns.md)."""
