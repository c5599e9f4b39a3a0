"""The demo district: a seeded, fictional history of villages in all four sectors.

``generate(DemoConfig(seed=...))`` yields write commands for the public API (what
``lumbung demo`` sends); ``to_events`` turns the same stream into CloudEvents for tools that
write straight into the topics (benchmarks). One scenario, two outputs.
"""

from shared.demo.events import to_events
from shared.demo.model import (
    DISTRICT_CODE,
    DISTRICT_NAME,
    PROGRAM_ORGANIZER,
    PROGRAM_TITLE,
    TRAINING_DAY,
    Command,
    DemoConfig,
)
from shared.demo.scenario import generate, plan_villages
from shared.demo.training import program_id

__all__ = [
    "DISTRICT_CODE",
    "DISTRICT_NAME",
    "PROGRAM_ORGANIZER",
    "PROGRAM_TITLE",
    "TRAINING_DAY",
    "Command",
    "DemoConfig",
    "generate",
    "plan_villages",
    "program_id",
    "to_events",
]
