"""Lumbung's shared building blocks: settings, the event contract, ports and adapters."""
