"""One household's whole history as commands: registration first, then each sector."""

from __future__ import annotations

from shared.demo import calendar as cal
from shared.demo.calendar import Clock
from shared.demo.farm import farm
from shared.demo.herd import ranch
from shared.demo.home import Home, Village, Writer
from shared.demo.model import Command
from shared.demo.names import kk_number, person
from shared.demo.shop import shop
from shared.demo.training import outcome_of, train

# archetype -> chance of (farming, livestock, UMKM) activity
SECTORS = {
    "farming": (0.85, 0.5, 0.25),
    "livestock": (0.5, 0.85, 0.2),
    "umkm": (0.4, 0.35, 0.65),
    "mixed": (0.6, 0.55, 0.4),
}
MEMBERS = ((1, 0.05), (2, 0.15), (3, 0.25), (4, 0.28), (5, 0.15), (6, 0.08), (7, 0.04))
NO_RECORDS = 0.08  # registered, nothing recorded yet: coverage stays below 100 %


def household_commands(seed: int, village: Village, ordinal: int, clock: Clock) -> list[Command]:
    trainee = village.trainees.get(ordinal)
    home = Home(
        seed=seed,
        village=village,
        ordinal=ordinal,
        clock=clock,
        writer=Writer(f"seed{seed}", village.code, None),
        outcome=None if trainee is None else outcome_of(trainee),
    )
    home.writer.household_id = home.household_id
    rng = home.rng("registry")
    name, given = person(rng)
    members = rng.choices(*zip(*MEMBERS, strict=True))[0]
    home.write(
        "/registry/households",
        "household_registered",
        {
            "village_code": village.code,
            "members": members,
            "head_name": name,
            "kk_number": kk_number(rng, village.code),
            "household_id": home.household_id,
            "occurred_on": clock.day(rng, cal.START, 1, 20),
        },
    )
    farms, keeps, trades = (rng.random() < p for p in SECTORS[village.archetype])
    if rng.random() < NO_RECORDS and home.outcome is None:
        return home.writer.commands
    if not (farms or keeps or trades):
        farms = village.archetype in ("farming", "mixed")
        keeps = village.archetype == "livestock"
        trades = village.archetype == "umkm"
    if home.outcome is not None:
        train(home, name)
    if trades or home.outcome is not None:
        shop(home, given)
    if farms:
        farm(home)
    if keeps:
        ranch(home)
    if rng.random() < 0.04:
        day = clock.day(rng, cal.add(cal.START, rng.randint(3, 40)))
        if day is not None:
            home.writer.write(
                f"/registry/households/{home.household_id}",
                "household_updated",
                {"members": members + 1, "occurred_on": day},
                {"household_id": home.household_id},
                method="PATCH",
            )
    return home.writer.commands
