"""Agriculture service."""
