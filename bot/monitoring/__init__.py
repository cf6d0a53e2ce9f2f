"""The bot watching itself: metrics for Prometheus, and a heartbeat that tells `/readyz`,
the ops channel and (when configured) PagerDuty when it cannot do its job."""
