"""One module per service, each with ``CASES: list[WriteCase]``."""
