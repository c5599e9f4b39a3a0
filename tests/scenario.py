"""A small, seeded village history as real CloudEvents, for aggregator tests."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

from shared.commands import build_event
from shared.events import catalogue as ev
from shared.events.envelope import topic_for
from shared.ports.bus import Message

VILLAGES = ("3204052001", "3204052002", "3204052003")


def scenario(
    seed: int = 7,
    households: int = 24,
    facts: int = 400,
    *,
    district: str = "3204",
    tag: str = "",
) -> list[dict]:
    """Villages, households, a programme and mixed facts over 2025-06 .. 2026-11.

    ``district`` and ``tag`` (a prefix of every id) keep one test's history apart from
    others on a shared Kafka log."""
    rng = random.Random(seed)
    villages = tuple(district + code[4:] for code in VILLAGES)
    events: list[dict] = []
    n = 0

    def add(payload: ev.Payload, village: str, subject: str | None = None) -> None:
        nonlocal n
        n += 1
        events.append(
            build_event(payload, village_code=village, subject=subject, event_id=f"ev-{seed}-{n}")
        )

    start = date(2025, 6, 1)
    program = f"{tag}prog-1"
    for code in villages:
        add(
            ev.VillageRegistered(
                occurred_on=start,
                village_code=code,
                name=f"Desa {code[-1]}",
                district_code=district,
                district_name="Kabupaten Uji",
            ),
            code,
        )
    add(
        ev.ProgramCreated(
            occurred_on=date(2025, 9, 1),
            program_id=program,
            title="Pelatihan",
            organizer="RKDD",
            village_codes=list(villages),
            start_on=date(2025, 9, 29),
            end_on=date(2025, 9, 29),
            topics=["media sosial"],
        ),
        villages[0],
    )
    homes = [(f"{tag}hh-{i:03d}", villages[i % len(villages)]) for i in range(households)]
    for hh, code in homes:
        add(
            ev.HouseholdRegistered(
                occurred_on=start, household_id=hh, village_code=code, members=rng.randint(2, 6)
            ),
            code,
            hh,
        )
    for hh, code in homes[::2]:
        add(
            ev.ParticipantEnrolled(
                occurred_on=date(2025, 9, 29), program_id=program, household_id=hh
            ),
            code,
            hh,
        )
        add(
            ev.AttendanceRecorded(
                occurred_on=date(2025, 9, 29), program_id=program, household_id=hh
            ),
            code,
            hh,
        )
    for _ in range(facts):
        hh, code = rng.choice(homes)
        day = start + timedelta(days=rng.randint(0, 530))
        kind = rng.randrange(6)
        if kind == 0:
            add(
                ev.SaleRecorded(
                    occurred_on=day,
                    business_id=f"biz-{hh}",
                    household_id=hh,
                    channel=rng.choice(["shopee", "market", "whatsapp"]),
                    quantity=2,
                    unit_price=25_000,
                    amount=50_000,
                ),
                code,
                hh,
            )
        elif kind == 1:
            add(
                ev.ProduceSold(
                    occurred_on=day,
                    household_id=hh,
                    crop="padi",
                    kg=100,
                    price_per_kg=6_000,
                    amount=600_000,
                    channel=rng.choice(["middleman", "tokopedia"]),
                ),
                code,
                hh,
            )
        elif kind == 2:
            add(
                ev.LivestockSold(
                    occurred_on=day,
                    herd_id=f"herd-{hh}",
                    household_id=hh,
                    species="goat",
                    count=1,
                    price_per_head=1_500_000,
                    amount=1_500_000,
                    channel="direct",
                ),
                code,
                hh,
            )
        elif kind == 3:
            add(
                ev.GreenPracticeAdopted(
                    occurred_on=day,
                    household_id=hh,
                    practice=rng.choice(["compost", "agroforestry"]),
                ),
                code,
                hh,
            )
        elif kind == 4:
            add(
                ev.CropLossReported(
                    occurred_on=day, household_id=hh, crop="padi", cause="flood", kg_lost=50
                ),
                code,
                hh,
            )
        else:
            add(
                ev.MentoringVisitRecorded(
                    occurred_on=day, program_id=program, household_id=hh, mentor="Pak Budi"
                ),
                code,
                hh,
            )
    return events


def messages(events: list[dict]) -> list[Message]:
    return [
        Message(topic_for(e["source"].rsplit("/", 1)[-1]), e["villagecode"], json.dumps(e).encode())
        for e in events
    ]
