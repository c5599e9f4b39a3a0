"""Per-household "monthly facts": the read model's unit of idempotency.

A ledger is a plain JSON document (stored as is in SQLite or MongoDB) folding every fact
that names one household. Folding is idempotent (the applied event ids are kept) and
order-independent: every field is a sum, a min, a set kept as a sorted list, or a sorted
list, so the same set of events gives an equal ledger in any arrival order. Where "latest"
matters, entries sort by ``[occurred_on, time, value...]`` (``time`` is the envelope's
recording time, normalised to UTC with microseconds so strings sort chronologically);
two facts with the same day and recording time then tie-break on their values, which is
deterministic without storing event ids twice.

Layout (short keys: one ledger is read for every view)::

    household_id     str
    ids              [event id, ...] sorted: the applied events
    registered       bool
    village_code     registration's village, else the latest fact's envelope villagecode
    reg              [day, time, village_code, members] of the latest registration | None
    vlast            [day, time, villagecode] of the latest fact while unregistered | None
    upd              [[day, time, members], ...] household_updated, sorted
    first_data_on    first day of any training/commerce/agriculture/livestock fact | None
    months           {"YYYY-MM": {u, c, l, d, ch, b, cap, o, x, s, m}} (keys only once touched)
                     u/c/l income by sector (umkm, crop, livestock), d its digital part,
                     ch digital channels with a sale (sorted), b businesses with a sale
                     (sorted), cap capital_received count, o/x organic/chemical input in
                     grams (integers, so sums do not depend on order), s shocks, m
                     mentoring visits (all programmes)
    dd               [day, ...] sorted unique days with a digital-channel sale (any sector)
    plots            {plot_id: [day, area_ha]} (a plot registered twice keeps the earliest)
    herds            {herd_id: {r: [day, time, count, species] (latest registration),
                                f: [day, time, species] (earliest fact, until registered),
                                d: {"YYYY-MM": born - died - sold}}}
    practices        {practice: first day adopted} (manure_composted → manure_compost)
    enrol            {program_id: {on: first enrolment day, att: first attendance day,
                                   pre/post: [[day, time, score, max_score], ...] sorted,
                                   conf: [[day, time, score], ...] sorted,
                                   men: [day, ...] sorted mentoring visits}}
    rids             [event id, ...] sorted: the applied registry events (also in ``ids``)
    aside            {village_code: fold} facts whose envelope names another village than
                     the household's (see below); each fold has its own ``ids``
    aside_district   the registered village's district while ``aside`` holds facts of a
                     registered household (the set-aside list reads it), else absent

A fact counts only for a household of its own village. The fields from ``first_data_on``
to ``enrol`` (``FOLD_FIELDS``) fold only the facts whose envelope ``villagecode`` is the
household's village (``village_code``: its registration's, else the fallback); the facts
naming any other village fold, the same way, into ``aside[that village]`` and count
nowhere. When the household's village changes (its registration arrives, or a later one
names another village), the folds are swapped whole: each fold only ever holds the facts
of one village, so the result is the same in any arrival order and nothing is lost.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from shared.events import catalogue as ev
from shared.events.envelope import CloudEvent
from shared.events.vocab import DIGITAL_CHANNELS, ORGANIC_INPUTS

Ledger = dict[str, Any]
SHOCK_DEATH_CAUSES = frozenset({"disease", "disaster"})
MANURE_PRACTICE = "manure_compost"
_REGISTRY_FACTS = (ev.HouseholdRegistered, ev.HouseholdUpdated)
FOLD_FIELDS = ("first_data_on", "months", "dd", "plots", "herds", "practices", "enrol")


def new_ledger(household_id: str) -> Ledger:
    return {
        "household_id": household_id,
        "ids": [],
        "registered": False,
        "village_code": None,
        "reg": None,
        "vlast": None,
        "upd": [],
        **_new_fold(),
        "rids": [],
        "aside": {},
    }


def _new_fold() -> Ledger:
    return {
        "ids": [],
        "first_data_on": None,
        "months": {},
        "dd": [],
        "plots": {},
        "herds": {},
        "practices": {},
        "enrol": {},
    }


def household_id_of(payload: ev.Payload) -> str | None:
    return getattr(payload, "household_id", None)


def time_key(moment: datetime) -> str:
    """The envelope time as a fixed-width UTC string (naive times are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def has_event(ledger: Ledger, event_id: str) -> bool:
    """Whether the event was applied, counted or set aside."""
    folds = [ledger, *ledger.get("aside", {}).values()]
    return any(_holds(fold["ids"], event_id) for fold in folds)


def apply_event(ledger: Ledger, envelope: CloudEvent, payload: ev.Payload) -> bool:
    """Fold one fact naming this household; False (and nothing changed) if already applied.

    A fact whose envelope names another village than the household's folds into
    ``aside`` (see the module docstring); ``set_aside`` tells how many a ledger holds.
    """
    household_id = household_id_of(payload)
    if household_id is None:
        raise ValueError(f"{envelope.type} does not name a household")
    if household_id != ledger["household_id"]:
        raise ValueError(f"{envelope.id} is about {household_id}, not {ledger['household_id']}")
    handler = _HANDLERS.get(type(payload))
    if handler is None:
        raise ValueError(f"no ledger rule for {type(payload).__name__}")
    village = envelope.villagecode
    home = ledger["village_code"]
    registry = isinstance(payload, _REGISTRY_FACTS)
    if not registry and (village == home or home is None):
        # the common case, a fact of the household's own village: it goes to the top
        ids = ledger["ids"]
        i = bisect_left(ids, envelope.id)
        if i < len(ids) and ids[i] == envelope.id:
            return False
        day = payload.occurred_on.isoformat()
        if ledger["reg"] is None:  # the fallback village may move with this fact
            _note_village(ledger, day, envelope)
            if ledger["village_code"] != home:
                _rehome(ledger, home)
                _mark_aside(ledger)
                return _fold_fact(ledger, handler, payload, day, envelope)
        ids.insert(i, envelope.id)
        handler(ledger, payload, day, envelope)
        first = ledger["first_data_on"]
        if first is None or day < first:
            ledger["first_data_on"] = day
        return True
    # an event's id is kept in the fold it went to: registry events and the facts of the
    # household's village at the top, the others in their village's aside fold (the same
    # redelivered event names the same village, so it meets its own id there)
    aside: dict[str, Ledger] = ledger.setdefault("aside", {})
    known = ledger["ids"] if registry else aside.get(village, {}).get("ids", ())
    if _holds(known, envelope.id):
        return False
    day = payload.occurred_on.isoformat()
    if registry:
        insort(ledger["ids"], envelope.id)
        insort(ledger.setdefault("rids", []), envelope.id)
        handler(ledger, payload, day, envelope)
        _note_village(ledger, day, envelope)
        if ledger["village_code"] != home:
            _rehome(ledger, home)
    else:
        _note_village(ledger, day, envelope)
        if ledger["village_code"] != home:
            _rehome(ledger, home)
        _fold_fact(ledger, handler, payload, day, envelope)
    _mark_aside(ledger)
    return True


def _fold_fact(
    ledger: Ledger, handler: Callable[..., None], payload: Any, day: str, envelope: CloudEvent
) -> bool:
    """Fold a fact into the fold of its village: the top one if it is the household's."""
    village = envelope.villagecode
    if village == ledger["village_code"]:
        target = ledger
    else:
        aside = ledger.setdefault("aside", {})
        target = aside.get(village)
        if target is None:
            target = aside[village] = _new_fold()
    insort(target["ids"], envelope.id)
    handler(target, payload, day, envelope)
    first = target["first_data_on"]
    if first is None or day < first:
        target["first_data_on"] = day
    return True


def _holds(ids: Any, event_id: str) -> bool:
    i = bisect_left(ids, event_id)
    return i < len(ids) and ids[i] == event_id


def _rehome(ledger: Ledger, before: str | None) -> None:
    """The household's village became ``ledger["village_code"]``: the top-level fold (the
    facts of ``before``) goes aside, and the new village's fold comes to the top."""
    aside: dict[str, Ledger] = ledger.setdefault("aside", {})
    rids: list[str] = ledger.setdefault("rids", [])
    if before is not None:
        registry = set(rids)
        old = {name: ledger[name] for name in FOLD_FIELDS}
        old["ids"] = [i for i in ledger["ids"] if i not in registry]
        if old["ids"]:
            aside[before] = old
    new = aside.pop(ledger["village_code"], None) or _new_fold()
    for name in FOLD_FIELDS:
        ledger[name] = new[name]
    ledger["ids"] = sorted([*rids, *new["ids"]])


def _mark_aside(ledger: Ledger) -> None:
    if ledger["registered"] and ledger.get("aside"):
        ledger["aside_district"] = ledger["village_code"][:4]
    else:
        ledger.pop("aside_district", None)


def set_aside(ledger: Ledger) -> int:
    """How many facts of this registered household count nowhere (they name another
    village than its own); 0 for a household not registered yet."""
    if not ledger.get("registered"):
        return 0
    return sum(len(fold["ids"]) for fold in ledger.get("aside", {}).values())


def _note_village(ledger: Ledger, day: str, envelope: CloudEvent) -> None:
    reg = ledger["reg"]
    if reg is not None:
        # The registration decides; the fallback is dropped so any order ends the same.
        ledger["vlast"] = None
        ledger["village_code"] = reg[2]
        return
    last = ledger["vlast"]
    if last is None or day >= last[0]:
        entry = [day, time_key(envelope.time), envelope.villagecode]
        if last is None or entry > last:
            ledger["vlast"] = entry
    ledger["village_code"] = ledger["vlast"][2]


def _month(ledger: Ledger, day: str) -> dict[str, Any]:
    months = ledger["months"]
    key = day[:7]
    entry = months.get(key)
    if entry is None:
        entry = months[key] = {}
    return entry


def _add(entry: dict[str, Any], key: str, amount: int) -> None:
    entry[key] = entry.get(key, 0) + amount


def _add_unique(entry: dict[str, Any], key: str, value: str) -> None:
    values = entry.get(key)
    if values is None:
        entry[key] = [value]
        return
    i = bisect_left(values, value)
    if i == len(values) or values[i] != value:
        values.insert(i, value)


def _sale(ledger: Ledger, day: str, sector: str, amount: int, channel: str) -> dict[str, Any]:
    entry = _month(ledger, day)
    _add(entry, sector, amount)
    if channel in DIGITAL_CHANNELS:
        _add(entry, "d", amount)
        _add_unique(entry, "ch", channel)
        _add_unique(ledger, "dd", day)
    return entry


def _enrolment(ledger: Ledger, program_id: str) -> dict[str, Any]:
    enrol = ledger["enrol"]
    entry = enrol.get(program_id)
    if entry is None:
        entry = enrol[program_id] = {}
    return entry


def _earliest(entry: dict[str, Any], key: str, day: str) -> None:
    current = entry.get(key)
    if current is None or day < current:
        entry[key] = day


def _herd(ledger: Ledger, herd_id: str) -> dict[str, Any]:
    herds = ledger["herds"]
    herd = herds.get(herd_id)
    if herd is None:
        herd = herds[herd_id] = {"d": {}}
    return herd


def _herd_delta(ledger: Ledger, payload: Any, day: str, env: CloudEvent, delta: int) -> None:
    herd = _herd(ledger, payload.herd_id)
    _add(herd["d"], day[:7], delta)
    if "r" not in herd:
        entry = [day, time_key(env.time), payload.species]
        if "f" not in herd or entry < herd["f"]:
            herd["f"] = entry


# handlers: (ledger, payload, day, envelope) -> None -------------------------------------
def _registered(ledger: Ledger, p: ev.HouseholdRegistered, day: str, env: CloudEvent) -> None:
    entry = [day, time_key(env.time), p.village_code, p.members]
    if ledger["reg"] is None or entry > ledger["reg"]:
        ledger["reg"] = entry
    ledger["registered"] = True


def _updated(ledger: Ledger, p: ev.HouseholdUpdated, day: str, env: CloudEvent) -> None:
    insort(ledger["upd"], [day, time_key(env.time), p.members])


def _sale_recorded(ledger: Ledger, p: ev.SaleRecorded, day: str, env: CloudEvent) -> None:
    entry = _sale(ledger, day, "u", p.amount, p.channel)
    _add_unique(entry, "b", p.business_id)


def _capital(ledger: Ledger, p: ev.CapitalReceived, day: str, env: CloudEvent) -> None:
    _add(_month(ledger, day), "cap", 1)


def _produce_sold(ledger: Ledger, p: ev.ProduceSold, day: str, env: CloudEvent) -> None:
    _sale(ledger, day, "c", p.amount, p.channel)


def _livestock_sold(ledger: Ledger, p: ev.LivestockSold, day: str, env: CloudEvent) -> None:
    _sale(ledger, day, "l", p.amount, p.channel)
    _herd_delta(ledger, p, day, env, -p.count)


def _input(ledger: Ledger, p: ev.InputApplied, day: str, env: CloudEvent) -> None:
    key = "o" if p.input_type in ORGANIC_INPUTS else "x"
    _add(_month(ledger, day), key, round(p.kg * 1000))


def _crop_loss(ledger: Ledger, p: ev.CropLossReported, day: str, env: CloudEvent) -> None:
    _add(_month(ledger, day), "s", 1)


def _died(ledger: Ledger, p: ev.AnimalsDied, day: str, env: CloudEvent) -> None:
    _herd_delta(ledger, p, day, env, -p.count)
    if p.cause in SHOCK_DEATH_CAUSES:
        _add(_month(ledger, day), "s", 1)


def _born(ledger: Ledger, p: ev.AnimalsBorn, day: str, env: CloudEvent) -> None:
    _herd_delta(ledger, p, day, env, p.count)


def _herd_registered(ledger: Ledger, p: ev.HerdRegistered, day: str, env: CloudEvent) -> None:
    herd = _herd(ledger, p.herd_id)
    entry = [day, time_key(env.time), p.count, p.species]
    if "r" not in herd or entry > herd["r"]:
        herd["r"] = entry
    herd.pop("f", None)


def _plot(ledger: Ledger, p: ev.PlotRegistered, day: str, env: CloudEvent) -> None:
    entry = [day, p.area_ha]
    current = ledger["plots"].get(p.plot_id)
    if current is None or entry < current:
        ledger["plots"][p.plot_id] = entry


def _practice(ledger: Ledger, p: ev.GreenPracticeAdopted, day: str, env: CloudEvent) -> None:
    _earliest(ledger["practices"], p.practice, day)


def _manure(ledger: Ledger, p: ev.ManureComposted, day: str, env: CloudEvent) -> None:
    _earliest(ledger["practices"], MANURE_PRACTICE, day)


def _enrolled(ledger: Ledger, p: ev.ParticipantEnrolled, day: str, env: CloudEvent) -> None:
    _earliest(_enrolment(ledger, p.program_id), "on", day)


def _attended(ledger: Ledger, p: ev.AttendanceRecorded, day: str, env: CloudEvent) -> None:
    _earliest(_enrolment(ledger, p.program_id), "att", day)


def _assessed(ledger: Ledger, p: ev.AssessmentRecorded, day: str, env: CloudEvent) -> None:
    entry = _enrolment(ledger, p.program_id)
    insort(entry.setdefault(p.kind, []), [day, time_key(env.time), p.score, p.max_score])


def _confidence(ledger: Ledger, p: ev.ConfidenceRecorded, day: str, env: CloudEvent) -> None:
    entry = _enrolment(ledger, p.program_id)
    insort(entry.setdefault("conf", []), [day, time_key(env.time), p.score])


def _mentored(ledger: Ledger, p: ev.MentoringVisitRecorded, day: str, env: CloudEvent) -> None:
    insort(_enrolment(ledger, p.program_id).setdefault("men", []), day)
    _add(_month(ledger, day), "m", 1)


def _only_dated(ledger: Ledger, p: ev.Payload, day: str, env: CloudEvent) -> None:
    """Facts that only count as "data" (first_data_on) and for the village fallback."""


_HANDLERS: dict[type[ev.Payload], Callable[[Ledger, Any, str, CloudEvent], None]] = {
    ev.HouseholdRegistered: _registered,
    ev.HouseholdUpdated: _updated,
    ev.ParticipantEnrolled: _enrolled,
    ev.AttendanceRecorded: _attended,
    ev.AssessmentRecorded: _assessed,
    ev.ConfidenceRecorded: _confidence,
    ev.MentoringVisitRecorded: _mentored,
    ev.BusinessRegistered: _only_dated,
    ev.ProductListed: _only_dated,
    ev.ChannelOpened: _only_dated,
    ev.SaleRecorded: _sale_recorded,
    ev.CapitalReceived: _capital,
    ev.PlotRegistered: _plot,
    ev.CropPlanted: _only_dated,
    ev.HarvestRecorded: _only_dated,
    ev.ProduceSold: _produce_sold,
    ev.GreenPracticeAdopted: _practice,
    ev.InputApplied: _input,
    ev.CropLossReported: _crop_loss,
    ev.ExtensionVisitRecorded: _only_dated,
    ev.FarmerGroupJoined: _only_dated,
    ev.InputPlanned: _only_dated,  # a plan (e-RDKK) is not an input used: no green effect
    ev.HerdRegistered: _herd_registered,
    ev.AnimalsBorn: _born,
    ev.AnimalsDied: _died,
    ev.VaccinationRecorded: _only_dated,
    ev.DiseaseReported: _only_dated,
    ev.LivestockSold: _livestock_sold,
    ev.ManureComposted: _manure,
}


# reference documents: programmes and villages -------------------------------------------
def _newer(doc: dict[str, Any] | None, key: list[str]) -> bool:
    return doc is None or key > doc["key"]


def apply_program(
    doc: dict[str, Any] | None, envelope: CloudEvent, payload: ev.ProgramCreated
) -> dict[str, Any]:
    """The programme document after ``program_created`` (the latest one wins; idempotent)."""
    key = [payload.occurred_on.isoformat(), time_key(envelope.time), envelope.id]
    if not _newer(doc, key):
        return doc  # type: ignore[return-value]
    return {
        "program_id": payload.program_id,
        "title": payload.title,
        "organizer": payload.organizer,
        "village_codes": sorted(set(payload.village_codes)),
        "start_on": payload.start_on.isoformat(),
        "end_on": payload.end_on.isoformat(),
        "topics": list(payload.topics),
        "key": key,
    }


def apply_village(
    doc: dict[str, Any] | None, envelope: CloudEvent, payload: ev.VillageRegistered
) -> dict[str, Any]:
    """The village document after ``village_registered`` (the latest one wins; idempotent)."""
    key = [payload.occurred_on.isoformat(), time_key(envelope.time), envelope.id]
    if not _newer(doc, key):
        return doc  # type: ignore[return-value]
    return {
        "village_code": payload.village_code,
        "name": payload.name,
        "district_code": payload.district_code,
        "district_name": payload.district_name,
        "key": key,
    }


# reading helpers ---------------------------------------------------------------------------
def businesses_with_sale(ledger: Ledger, months: Iterable[str]) -> set[str]:
    """Business ids with a sale in any of ``months``."""
    found: set[str] = set()
    table = ledger["months"]
    for month in months:
        entry = table.get(month)
        if entry is not None and "b" in entry:
            found.update(entry["b"])
    return found
