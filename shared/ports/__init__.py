"""Ports: what the services need from the outside world, each with two adapters."""
