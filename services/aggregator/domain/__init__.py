"""The aggregator's pure domain: ledgers of household facts, the rule set and every formula.

Nothing here does I/O or reads the clock: the month (``as_of``) is always passed in, and
every stored structure is plain JSON data.
"""
