"""Adapters of the ports: in-process/SQLite for embedded mode, Kafka/MongoDB for districts."""
