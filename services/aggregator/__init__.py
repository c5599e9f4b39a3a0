"""Aggregator: consumes every topic and keeps the resilience read model."""
