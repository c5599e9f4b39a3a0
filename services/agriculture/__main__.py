"""`python -m services.agriculture`: run this service on its own."""

from services.main import serve

serve("agriculture")
