"""The fleet control-plane: its API contract (models), errors, and backends."""
