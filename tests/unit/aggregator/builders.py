"""Real, decoded events for the aggregator's domain tests (built and decoded like the bus)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from services.aggregator.domain.ledger import Ledger, apply_event, new_ledger
from shared.commands import build_event
from shared.events import catalogue as ev
from shared.events.catalogue import Payload, decode_event
from shared.events.envelope import CloudEvent

VILLAGE = "3204052001"
OTHER_VILLAGE = "3204052002"
HH = "hh-1"
Event = tuple[CloudEvent, Payload]
_ids = itertools.count(1)


def event(
    model: type[Payload],
    *,
    village: str = VILLAGE,
    event_id: str | None = None,
    time: str | None = None,
    **fields: Any,
) -> Event:
    """Build the wire form with shared.commands.build_event and decode it as a consumer does."""
    payload = model(**fields)
    wire = build_event(
        payload,
        village_code=village,
        subject=getattr(payload, "household_id", None),
        event_id=event_id or f"ev-{next(_ids):06d}",
    )
    if time is not None:
        wire["time"] = time
    return decode_event(json.dumps(wire).encode())


def ledger_of(events: list[Event], household_id: str = HH) -> Ledger:
    ledger = new_ledger(household_id)
    for envelope, payload in events:
        apply_event(ledger, envelope, payload)
    return ledger


# one builder per fact, with the household and sensible defaults --------------------------
def registered(members: int, on: str = "2024-01-10", hh: str = HH, **kw: Any) -> Event:
    village = kw.pop("village", VILLAGE)
    return event(
        ev.HouseholdRegistered,
        village=village,
        household_id=hh,
        village_code=village,
        members=members,
        occurred_on=on,
        **kw,
    )


def updated(members: int, on: str, hh: str = HH, **kw: Any) -> Event:
    return event(ev.HouseholdUpdated, household_id=hh, members=members, occurred_on=on, **kw)


def sale(
    amount: int, on: str, channel: str = "market", business: str = "biz-1", hh: str = HH, **kw: Any
) -> Event:
    return event(
        ev.SaleRecorded,
        business_id=business,
        household_id=hh,
        channel=channel,
        quantity=1,
        unit_price=amount,
        amount=amount,
        occurred_on=on,
        **kw,
    )


def produce(amount: int, on: str, channel: str = "market", hh: str = HH, **kw: Any) -> Event:
    return event(
        ev.ProduceSold,
        household_id=hh,
        crop="padi",
        kg=1,
        price_per_kg=amount,
        amount=amount,
        channel=channel,
        occurred_on=on,
        **kw,
    )


def livestock_sold(
    amount: int,
    on: str,
    channel: str = "market",
    herd: str = "herd-1",
    species: str = "cattle",
    count: int = 1,
    hh: str = HH,
    **kw: Any,
) -> Event:
    return event(
        ev.LivestockSold,
        herd_id=herd,
        household_id=hh,
        species=species,
        count=count,
        price_per_head=amount // count,
        amount=amount,
        channel=channel,
        occurred_on=on,
        **kw,
    )


def capital(on: str, hh: str = HH, **kw: Any) -> Event:
    return event(
        ev.CapitalReceived,
        business_id="biz-1",
        household_id=hh,
        source="kur",
        kind="loan",
        amount=5_000_000,
        occurred_on=on,
        **kw,
    )


def herd(
    count: int, on: str, species: str = "cattle", herd_id: str = "herd-1", hh: str = HH, **kw: Any
) -> Event:
    return event(
        ev.HerdRegistered,
        herd_id=herd_id,
        household_id=hh,
        species=species,
        count=count,
        occurred_on=on,
        **kw,
    )


def born(
    count: int, on: str, species: str = "cattle", herd_id: str = "herd-1", hh: str = HH, **kw: Any
) -> Event:
    return event(
        ev.AnimalsBorn,
        herd_id=herd_id,
        household_id=hh,
        species=species,
        count=count,
        occurred_on=on,
        **kw,
    )


def died(
    count: int,
    on: str,
    cause: str = "old_age",
    species: str = "cattle",
    herd_id: str = "herd-1",
    hh: str = HH,
    **kw: Any,
) -> Event:
    return event(
        ev.AnimalsDied,
        herd_id=herd_id,
        household_id=hh,
        species=species,
        count=count,
        cause=cause,
        occurred_on=on,
        **kw,
    )


def plot(area_ha: float, on: str, plot_id: str = "plot-1", hh: str = HH, **kw: Any) -> Event:
    return event(
        ev.PlotRegistered,
        plot_id=plot_id,
        household_id=hh,
        area_ha=area_ha,
        land_status="owned",
        occurred_on=on,
        **kw,
    )


def practice(name: str, on: str, hh: str = HH, **kw: Any) -> Event:
    return event(ev.GreenPracticeAdopted, household_id=hh, practice=name, occurred_on=on, **kw)


def manure(on: str, herd_id: str = "herd-1", hh: str = HH, **kw: Any) -> Event:
    return event(ev.ManureComposted, herd_id=herd_id, household_id=hh, kg=50, occurred_on=on, **kw)


def inputs(input_type: str, kg: float, on: str, hh: str = HH, **kw: Any) -> Event:
    return event(
        ev.InputApplied, household_id=hh, input_type=input_type, kg=kg, occurred_on=on, **kw
    )


def crop_loss(on: str, hh: str = HH, **kw: Any) -> Event:
    return event(
        ev.CropLossReported,
        household_id=hh,
        crop="padi",
        cause="flood",
        kg_lost=100,
        occurred_on=on,
        **kw,
    )


def enrolled(program: str, on: str, hh: str = HH, **kw: Any) -> Event:
    return event(ev.ParticipantEnrolled, program_id=program, household_id=hh, occurred_on=on, **kw)


def attended(program: str, on: str, hh: str = HH, **kw: Any) -> Event:
    return event(ev.AttendanceRecorded, program_id=program, household_id=hh, occurred_on=on, **kw)


def assessed(
    program: str, kind: str, score: float, max_score: float, on: str, hh: str = HH, **kw: Any
) -> Event:
    return event(
        ev.AssessmentRecorded,
        program_id=program,
        household_id=hh,
        kind=kind,
        score=score,
        max_score=max_score,
        occurred_on=on,
        **kw,
    )


def confidence(program: str, score: int, on: str, hh: str = HH, **kw: Any) -> Event:
    return event(
        ev.ConfidenceRecorded,
        program_id=program,
        household_id=hh,
        score=score,
        occurred_on=on,
        **kw,
    )


def mentored(program: str, on: str, hh: str = HH, **kw: Any) -> Event:
    return event(
        ev.MentoringVisitRecorded,
        program_id=program,
        household_id=hh,
        mentor="Bu Sari",
        occurred_on=on,
        **kw,
    )


def program_created(
    program: str = "prog-1",
    start_on: str = "2026-02-01",
    end_on: str = "2026-03-31",
    villages: tuple[str, ...] = (VILLAGE,),
    on: str = "2026-01-05",
    **kw: Any,
) -> Event:
    return event(
        ev.ProgramCreated,
        program_id=program,
        title="Jualan online untuk UMKM",
        organizer="Dinas Koperasi",
        village_codes=list(villages),
        start_on=start_on,
        end_on=end_on,
        topics=["marketplace"],
        occurred_on=on,
        **kw,
    )


def village_registered(code: str = VILLAGE, name: str = "Sukamaju", **kw: Any) -> Event:
    return event(
        ev.VillageRegistered,
        village=code,
        village_code=code,
        name=name,
        district_code=code[:4],
        district_name="Bandung",
        occurred_on="2024-01-01",
        **kw,
    )
