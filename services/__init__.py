"""Lumbung's services: registry, training, commerce, agriculture, livestock, aggregator."""
