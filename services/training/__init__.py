"""Training service."""
