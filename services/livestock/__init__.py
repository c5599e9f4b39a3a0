"""Livestock service."""
