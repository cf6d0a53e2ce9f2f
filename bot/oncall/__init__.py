"""On-call rotations, overrides, and the handoff summary posted at every shift change."""
