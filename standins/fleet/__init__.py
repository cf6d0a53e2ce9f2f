"""Stand-ins of fleet control planes."""
