"""`python -m services.commerce`: run this service on its own."""

from services.main import serve

serve("commerce")
