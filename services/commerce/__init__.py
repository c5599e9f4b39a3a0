"""Commerce service."""
