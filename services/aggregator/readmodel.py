"""The resilience read model's collections and the reads every view shares.

- ``agg_ledgers``: one ledger per household (its monthly facts and applied event ids; the
  facts that name another village than the household's are kept aside in it, and
  ``aside_district`` finds the households that have any, for their district's admin);
- ``agg_programs``, ``agg_villages``: reference documents from program_created and
  village_registered;
- ``agg_enrolments``: (programme, household) pairs, so a programme finds its participants;
- ``agg_village_months``, ``agg_district_months``: precomputed answers per month;
- ``agg_village_totals``: each precomputed village month as sums over its households
  (``VillageTotals``), so a change of a few households updates it without reading the rest;
- ``agg_state``: how far the precomputed months reach;
- ``agg_dirty``: villages whose precomputed months must be rebuilt (from a first month);
- ``agg_district_dirty``: districts whose months wait for village patches held in memory
  (from a first month); one left behind by a crash means a rebuild of those months;
- ``agg_idm``: each village's IDM (Indeks Desa Membangun) per year, from idm_recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from shared.ports.store import CollectionSpec, Doc, Store
from shared.ports.store import scan as scan_pages

LEDGERS = "agg_ledgers"
PROGRAMS = "agg_programs"
VILLAGES = "agg_villages"
ENROLMENTS = "agg_enrolments"
VILLAGE_MONTHS = "agg_village_months"
DISTRICT_MONTHS = "agg_district_months"
VILLAGE_TOTALS = "agg_village_totals"
STATE = "agg_state"
DIRTY = "agg_dirty"
DISTRICT_DIRTY = "agg_district_dirty"
IDM = "agg_idm"
COLLECTIONS = (
    CollectionSpec(LEDGERS, indexes=("village_code", "aside_district")),
    CollectionSpec(PROGRAMS),
    CollectionSpec(VILLAGES, indexes=("district_code",)),
    CollectionSpec(ENROLMENTS, indexes=("program_id",)),
    CollectionSpec(VILLAGE_MONTHS, indexes=("district_code", "village_code", "month")),
    CollectionSpec(DISTRICT_MONTHS),
    CollectionSpec(VILLAGE_TOTALS),
    CollectionSpec(STATE),
    CollectionSpec(DIRTY),
    CollectionSpec(DISTRICT_DIRTY),
    CollectionSpec(IDM, indexes=("village_code",)),
)
READ_MODEL = tuple(spec.name for spec in COLLECTIONS)
PAGE = 1000


def month_key(code: str, month: str) -> str:
    return f"{code}|{month}"


def scan(store: Store, collection: str, where: dict[str, Any]) -> Iterator[Doc]:
    """Every document matching ``where``, ``PAGE`` documents a read."""
    return scan_pages(store, collection, where, page=PAGE)


def strip_id(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if k not in ("_id", "_cmds")}


def village_ledgers(store: Store, village_codes: Iterable[str]) -> list[Doc]:
    codes = sorted(set(village_codes))
    return [strip_id(d) for d in scan(store, LEDGERS, {"village_code": codes})] if codes else []


def programs_of(store: Store, ledgers: Iterable[Doc]) -> dict[str, Doc]:
    ids = {pid for ledger in ledgers for pid in ledger.get("enrol", {})}
    return {pid: strip_id(doc) for pid, doc in store.get_many(PROGRAMS, ids).items()}


IDM_FIELDS = ("year", "iks", "ike", "ikl", "score", "status")


def idm_document(envelope_time: str, payload: Any) -> Doc:
    """The stored IDM of one village and year (``envelope_time`` orders corrections)."""
    return {
        "_id": month_key(payload.village_code, str(payload.year)),
        "village_code": payload.village_code,
        "recorded_at": envelope_time,
        **{name: getattr(payload, name) for name in IDM_FIELDS},
    }


def latest_idm(store: Store, village_code: str, month: str) -> dict[str, Any] | None:
    """The village's IDM of the latest year not after the month's year, or None."""
    year = int(month[:4])
    found = [d for d in scan(store, IDM, {"village_code": village_code}) if d["year"] <= year]
    if not found:
        return None
    best = max(found, key=lambda d: d["year"])
    return {name: best[name] for name in IDM_FIELDS}
