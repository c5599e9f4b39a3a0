"""`python -m services.aggregator`: run this service on its own."""

from services.main import serve

serve("aggregator")
