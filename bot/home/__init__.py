"""The App Home tab: my shift, my open incidents, approvals waiting for me (docs/incidents.md,
"App Home")."""
