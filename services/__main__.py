"""`python -m services`: the embedded platform in one process."""

from services.main import serve

serve(None)
