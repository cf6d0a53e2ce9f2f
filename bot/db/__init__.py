"""Storage: the typed ORM models, the async engine, and migrations."""
