"""The demo district: villages, the programme, then every household's history, as a stream.

Lazy: the villages are planned up front (a few numbers each); households are generated one
at a time, so ``households=150_000, villages=300`` streams in bounded memory. Order: every
village, then the programme, then household by household (registration, then its
businesses, plots, herds, then their facts) -- each command after what it depends on.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from shared.demo.calendar import Clock
from shared.demo.home import ARCHETYPES, Village, Writer
from shared.demo.household import household_commands
from shared.demo.model import DISTRICT_CODE, DISTRICT_NAME, HISTORY_START, Command, DemoConfig
from shared.demo.names import village_code, village_name
from shared.demo.training import program_body

PROGRAMME_VILLAGES = 8


def plan_villages(config: DemoConfig) -> list[Village]:
    """Villages with their size, archetype, shocks and trainees (households by ordinal)."""
    rng = random.Random(f"{config.seed}/villages")
    weights = [rng.uniform(0.75, 1.25) for _ in range(config.villages)]
    sizes = [1 + n for n in _apportion(config.households - config.villages, weights)]
    archetypes = [ARCHETYPES[i % len(ARCHETYPES)] for i in range(config.villages)]
    flood = archetypes.index("farming")
    outbreak = archetypes.index("livestock") if "livestock" in archetypes else None
    chosen = list(range(min(PROGRAMME_VILLAGES, config.villages)))
    per_village = _apportion(
        min(config.trainee_target, sum(sizes[i] for i in chosen)), [sizes[i] for i in chosen]
    )
    villages, ordinal = [], 0
    for i in range(config.villages):
        trainees: dict[int, int] = {}
        if i in chosen:
            count = per_village[i]
            for j in range(count):
                trainees[(2 * j + 1) * sizes[i] // (2 * count)] = ordinal
                ordinal += 1
        villages.append(
            Village(
                index=i,
                code=village_code(i),
                name=village_name(i),
                archetype=archetypes[i],
                households=sizes[i],
                flood=i == flood,
                outbreak=i == outbreak,
                in_programme=i in chosen,
                trainees=trainees,
            )
        )
    return villages


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder), at least 0 each."""
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    parts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def generate(config: DemoConfig) -> Iterator[Command]:
    """Every write of the demo district, in dependency order."""
    clock = Clock(config.today)
    villages = plan_villages(config)
    # Villages are the same for every seed (names and keys), so seeds can share a district.
    registry = Writer("villages", "", None)
    for village in villages:
        registry.village_code = village.code
        registry.write(
            "/registry/villages",
            "village_registered",
            {
                "village_code": village.code,
                "name": village.name,
                "district_code": DISTRICT_CODE,
                "district_name": DISTRICT_NAME,
                "occurred_on": HISTORY_START,
            },
        )
    yield from registry.commands
    programme = Writer(f"seed{config.seed}", villages[0].code, None)
    codes = [v.code for v in villages if v.in_programme]
    programme.write("/training/programs", "program_created", program_body(config.seed, codes))
    yield from programme.commands
    for village in villages:
        for ordinal in range(village.households):
            yield from household_commands(config.seed, village, ordinal, clock)
