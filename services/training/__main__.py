"""`python -m services.training`: run this service on its own."""

from services.main import serve

serve("training")
