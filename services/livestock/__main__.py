"""`python -m services.livestock`: run this service on its own."""

from services.main import serve

serve("livestock")
