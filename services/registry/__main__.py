"""`python -m services.registry`: run this service on its own."""

from services.main import serve

serve("registry")
