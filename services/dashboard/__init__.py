"""The Lumbung web dashboard: server-rendered pages over the resilience read model."""
