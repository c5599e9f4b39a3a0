"""Every formula of RESILIENCE.md, as pure functions over ledgers (see ``ledger.py``).

Rounding: :func:`round_half_up` rounds half away from zero (not Python's banker's
``round``) after cleaning binary float noise at 9 decimals, so a value a person computes
by hand as 12.25 shows as 12.3 even when the float product is 12.249999999999998. The index
is computed from unrounded pillars and shock factor, then rounded to 1 decimal; its band is
the band of that rounded index, so the figure and the band shown never disagree. Village
and district means are over the published (rounded) household index and pillars, so they
can be recomputed by hand from the household answers.

Choices where RESILIENCE.md is silent:

- ``u`` = score/max_score is capped at 1 (an event may carry score > max_score).
- size falls back to 1 for a household with neither registration nor update (only
  registered households are shown, so this only keeps the arithmetic defined).
- N-gain is skipped for pre% >= 100, not only = 100 (the denominator would be <= 0).
- Pathway stages are "the highest whose condition holds": the conditions are not
  cumulative, so a household selling online after the start is stage 3 even without an
  attendance record. A programme not known yet (no ``start_on``) cannot give stage 3.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from functools import lru_cache
from operator import itemgetter
from typing import Any

from services.aggregator.domain.ledger import Ledger, businesses_with_sale
from services.aggregator.domain.months import (
    add_months,
    last_day,
    month_of,
    month_range,
    month_start,
    window,
    window_tuple,
)
from services.aggregator.domain.rules import RuleSet

SECTORS = ("umkm", "crop", "livestock")
PILLARS = ("income", "diversity", "digital", "capacity", "assets", "green")
BANDS = ("rentan", "berkembang", "tangguh")
STAGE_NAMES = ("terdaftar", "dilatih", "paham", "berjualan_online", "berkelanjutan")
_SECTOR_KEYS = (("umkm", "u"), ("crop", "c"), ("livestock", "l"))
_DIVERSITY_MAX = 1 - 1 / len(SECTORS)  # 2/3: the most even split of three sectors
_CONFIDENCE_MIN, _CONFIDENCE_SPAN = 1, 4  # the 1-5 scale of confidence_recorded
_CAPACITY_PARTS = 3
_CLEAN = Decimal("1e-9")
_FAST_PLACES = 3  # cleaning at 1e-9 cannot move a value 1e-6 (scaled) away from a tie
_SCALES = (1.0, 10.0, 100.0, 1000.0)
_FAST_LIMIT = 1e9
_TIE_MARGIN = 1e-6
_DECIMAL = Context(prec=60)
_day = itemgetter(0)


# rounding and bands ---------------------------------------------------------------------
def round_half_up(value: float, places: int = 0) -> float:
    """``value`` rounded half away from zero to ``places`` decimals (see module docstring)."""
    if places <= _FAST_PLACES:
        # Fast path, exact away from ties: n / 10**p is the double nearest to n * 10**-p.
        scale = _SCALES[places]
        scaled = value * scale
        if -_FAST_LIMIT < scaled < _FAST_LIMIT:
            floor = math.floor(scaled)
            frac = scaled - floor
            if abs(frac - 0.5) > _TIE_MARGIN:
                return (floor + (frac > 0.5)) / scale + 0.0
    cleaned = Decimal(repr(value)).quantize(_CLEAN, rounding=ROUND_HALF_EVEN, context=_DECIMAL)
    rounded = cleaned.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_DECIMAL)
    return float(rounded) + 0.0  # + 0.0 turns -0.0 into 0.0


def money(value: float) -> int:
    """Whole rupiah, half away from zero."""
    return int(round_half_up(value, 0))


def band_of(index: float, rules: RuleSet) -> str:
    if index < rules.band_berkembang:
        return "rentan"
    if index < rules.band_tangguh:
        return "berkembang"
    return "tangguh"


# reading a ledger up to M ---------------------------------------------------------------
def _latest_up_to(entries: Sequence[list[Any]] | None, end: str) -> list[Any] | None:
    """The last of ``entries`` (sorted, day first) on or before the day ``end``."""
    if not entries:
        return None
    i = bisect_right(entries, end, key=_day)
    return entries[i - 1] if i else None


def household_size(ledger: Ledger, end: str) -> int:
    """Members from the latest household_updated up to ``end``, else registration, else 1."""
    update = _latest_up_to(ledger["upd"], end)
    if update is not None:
        return update[2]
    reg = ledger["reg"]
    return reg[3] if reg is not None else 1


def has_data(ledger: Ledger, month: str) -> bool:
    first = ledger["first_data_on"]
    return first is not None and first <= last_day(month)


def _sum_months(months: Mapping[str, Mapping[str, Any]], keys: Iterable[str], field: str) -> int:
    total = 0
    for key in keys:
        entry = months.get(key)
        if entry is not None:
            total += entry.get(field, 0)
    return total


def _practices_up_to(ledger: Ledger, end: str) -> list[str]:
    return sorted(p for p, day in ledger["practices"].items() if day <= end)


# the household index --------------------------------------------------------------------
@dataclass(frozen=True)
class HouseholdScore:
    household_id: str
    village_code: str | None
    as_of: str
    has_data: bool
    index: float
    band: str
    pillars: dict[str, float]
    shock_factor: float
    income: dict[str, int]
    size: int
    rule_set: str
    explain: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The household answer of API.md, plus ``explain``."""
        return {
            "household_id": self.household_id,
            "village_code": self.village_code,
            "as_of": self.as_of,
            "index": self.index,
            "band": self.band,
            "pillars": dict(self.pillars),
            "shock_factor": self.shock_factor,
            "income": dict(self.income),
            "rule_set": self.rule_set,
            "explain": self.explain,
        }


def score_household(ledger: Ledger, month: str, rules: RuleSet) -> HouseholdScore:
    """The index of one household at ``month`` (M), exactly as RESILIENCE.md defines it."""
    end = last_day(month)
    months = ledger["months"]
    w = window_tuple(month, rules.window_months)

    income = dict.fromkeys(SECTORS, 0)
    digital = capital = organic_g = chemical_g = 0
    channels: set[str] = set()
    for key in w:
        entry = months.get(key)
        if not entry:
            continue
        for sector, field in _SECTOR_KEYS:
            income[sector] += entry.get(field, 0)
        digital += entry.get("d", 0)
        capital += entry.get("cap", 0)
        organic_g += entry.get("o", 0)
        chemical_g += entry.get("x", 0)
        if "ch" in entry:
            channels.update(entry["ch"])
    total = income["umkm"] + income["crop"] + income["livestock"]
    size = household_size(ledger, end)
    post, confidence = _latest_post_and_confidence(ledger, end)
    visits = _sum_months(months, window_tuple(month, rules.capacity_mentoring_months), "m")
    tlu, heads = _tlu(ledger, month, end, rules)
    hectares = math.fsum(area for day, area in ledger["plots"].values() if day <= end)
    practices = _practices_up_to(ledger, end)
    shocks = _sum_months(months, window_tuple(month, rules.shock_months), "s")
    raw = _raw_pillars(
        income["umkm"],
        income["crop"],
        income["livestock"],
        digital,
        len(channels),
        size,
        post,
        confidence,
        visits,
        tlu,
        hectares,
        capital,
        len(practices),
        organic_g,
        chemical_g,
        shocks,
        rules,
    )
    pillars, shock_factor = raw[:6], raw[6]
    per_capita, target, shares, digital_share, u, c, m, organic_share = raw[7:]
    index = _index_of(pillars, shock_factor, rules)
    income["total"] = total
    income["digital"] = digital
    explain = {
        "window": [w[0], w[-1]],
        "income": {
            "total": total,
            "size": size,
            "per_capita_month": money(per_capita),
            "target_per_capita_month": money(target),
        },
        "diversity": {"shares": {s: round_half_up(v, 3) for s, v in shares.items()}},
        "digital": {
            "digital_share": round_half_up(digital_share, 3),
            "channel_count": len(channels),
            "channels": sorted(channels),
        },
        "capacity": {
            "post_pct": round_half_up(100 * post[2] / post[3], 1) if post is not None else None,
            "confidence": confidence[2] if confidence is not None else None,
            "mentoring_visits": visits,
            "u": round_half_up(u, 3),
            "c": round_half_up(c, 3),
            "m": round_half_up(m, 3),
        },
        "assets": {
            "tlu": round_half_up(tlu, 3),
            "heads": heads,
            "hectares": round_half_up(hectares, 3),
            "capital": bool(capital),
        },
        "green": {
            "practice_count": len(practices),
            "practices": practices,
            "organic_kg": round_half_up(organic_g / 1000, 3),
            "chemical_kg": round_half_up(chemical_g / 1000, 3),
            "organic_share": round_half_up(organic_share, 3),
        },
        "shocks": {"count": shocks},
    }
    return HouseholdScore(
        household_id=ledger["household_id"],
        village_code=ledger["village_code"],
        as_of=month,
        has_data=has_data(ledger, month),
        index=index,
        band=band_of(index, rules),
        pillars={p: round_half_up(v, 3) for p, v in zip(PILLARS, pillars, strict=True)},
        shock_factor=round_half_up(shock_factor, 3),
        income=income,
        size=size,
        rule_set=rules.name,
        explain=explain,
    )


def _raw_pillars(
    umkm: int,
    crop: int,
    livestock: int,
    digital: int,
    channel_count: int,
    size: int,
    post: list[Any] | None,
    confidence: list[Any] | None,
    visits: int,
    tlu: float,
    hectares: float,
    capital: int,
    practice_count: int,
    organic_g: int,
    chemical_g: int,
    shocks: int,
    rules: RuleSet,
) -> tuple[Any, ...]:
    """The six unrounded pillars, the shock factor, then the figures ``explain`` shows:
    (income, diversity, digital, capacity, assets, green, shock_factor, per_capita, target,
    shares, digital_share, u, c, m, organic_share). The one place the formulas live, so
    the household answer and the precomputed village months agree to the last bit."""
    total = umkm + crop + livestock
    per_capita = total / rules.window_months / size
    target = rules.income_poverty_multiple * rules.poverty_line
    p_income = min(1.0, per_capita / target)

    shares = {
        "umkm": umkm / total if total else 0.0,
        "crop": crop / total if total else 0.0,
        "livestock": livestock / total if total else 0.0,
    }
    p_diversity = 0.0
    if total:
        p_diversity = min(1.0, (1 - sum(v * v for v in shares.values())) / _DIVERSITY_MAX)

    digital_share = digital / total if total else 0.0
    channel_part = min(1.0, channel_count / rules.digital_channel_cap)
    p_digital = 0.0
    if total:
        p_digital = (
            rules.digital_share_weight * digital_share + rules.digital_channel_weight * channel_part
        )

    u = min(1.0, post[2] / post[3]) if post is not None else 0.0
    c = (confidence[2] - _CONFIDENCE_MIN) / _CONFIDENCE_SPAN if confidence is not None else 0.0
    m = min(1.0, visits / rules.capacity_mentoring_cap)
    p_capacity = (u + c + m) / _CAPACITY_PARTS

    p_assets = (
        rules.assets_tlu_weight * min(1.0, tlu / rules.assets_tlu_cap)
        + rules.assets_land_weight * min(1.0, hectares / rules.assets_hectare_cap)
        + rules.assets_capital_weight * (1.0 if capital else 0.0)
    )

    inputs_g = organic_g + chemical_g
    organic_share = organic_g / inputs_g if inputs_g else 0.0
    p_green = (
        rules.green_practice_weight * min(1.0, practice_count / rules.green_practice_cap)
        + rules.green_organic_weight * organic_share
    )

    shock_factor = 1 - min(rules.shock_cap, rules.shock_per_event * shocks)
    return (
        p_income,
        p_diversity,
        p_digital,
        p_capacity,
        p_assets,
        p_green,
        shock_factor,
        per_capita,
        target,
        shares,
        digital_share,
        u,
        c,
        m,
        organic_share,
    )


def _index_of(pillars: Sequence[float], shock_factor: float, rules: RuleSet) -> float:
    weights = rules.weights
    weighted = (
        weights.income * pillars[0]
        + weights.diversity * pillars[1]
        + weights.digital * pillars[2]
        + weights.capacity * pillars[3]
        + weights.assets * pillars[4]
        + weights.green * pillars[5]
    )
    return round_half_up(100 * shock_factor * weighted, 1)


def _latest_post_and_confidence(
    ledger: Ledger, end: str
) -> tuple[list[Any] | None, list[Any] | None]:
    """The household's latest post assessment and confidence up to ``end``, any programme."""
    post: list[Any] | None = None
    confidence: list[Any] | None = None
    for enrolment in ledger["enrol"].values():
        p = _latest_up_to(enrolment.get("post"), end)
        if p is not None and (post is None or p > post):
            post = p
        c = _latest_up_to(enrolment.get("conf"), end)
        if c is not None and (confidence is None or c > confidence):
            confidence = c
    return post, confidence


def _tlu(ledger: Ledger, month: str, end: str, rules: RuleSet) -> tuple[float, dict[str, int]]:
    """Tropical livestock units up to M, and the head count per species."""
    heads: dict[str, int] = {}
    for herd in ledger["herds"].values():
        registration = herd.get("r")
        count = registration[2] if registration is not None and registration[0] <= end else 0
        count += sum(delta for key, delta in herd["d"].items() if key <= month)
        if registration is not None:
            species = registration[3]
        else:
            species = herd["f"][2] if "f" in herd else "other"
        heads[species] = heads.get(species, 0) + max(0, count)
    tlu = math.fsum(n * rules.coefficient(species) for species, n in heads.items())
    return tlu, dict(sorted(heads.items()))


# the training pathway -------------------------------------------------------------------
@dataclass(frozen=True)
class EnrolmentStatus:
    program_id: str
    household_id: str
    stage: int
    stage_name: str
    needs_follow_up: bool
    last_mentoring_on: str | None
    ngain: float | None
    post_pct: float | None
    pre_pct: float | None

    def to_dict(self) -> dict[str, Any]:
        """Percentages to 1 decimal, N-gain to 3."""
        return {
            "program_id": self.program_id,
            "household_id": self.household_id,
            "stage": self.stage,
            "stage_name": self.stage_name,
            "needs_follow_up": self.needs_follow_up,
            "last_mentoring_on": self.last_mentoring_on,
            "ngain": None if self.ngain is None else round_half_up(self.ngain, 3),
            "post_pct": None if self.post_pct is None else round_half_up(self.post_pct, 1),
            "pre_pct": None if self.pre_pct is None else round_half_up(self.pre_pct, 1),
        }


def ngain(pre_pct: float | None, post_pct: float | None) -> float | None:
    """(post% - pre%) / (100 - pre%); None without both, or when pre% is already 100."""
    if pre_pct is None or post_pct is None or pre_pct >= 100:
        return None
    return (post_pct - pre_pct) / (100 - pre_pct)


def _pct(entry: list[Any] | None) -> float | None:
    return None if entry is None else 100 * entry[2] / entry[3]


def enrolment_status(
    ledger: Ledger, program: Mapping[str, Any], month: str, rules: RuleSet
) -> EnrolmentStatus | None:
    """The pathway stage of (programme, household) at M; None if not enrolled up to M.

    ``program`` is the document of ``apply_program``; without ``start_on`` (programme not
    known yet) stage 3 cannot hold, without ``end_on`` no follow-up is due.
    """
    program_id = program["program_id"]
    enrolment = ledger["enrol"].get(program_id)
    end = last_day(month)
    if enrolment is None or enrolment.get("on") is None or enrolment["on"] > end:
        return None
    pre_pct = _pct(_latest_up_to(enrolment.get("pre"), end))
    post_pct = _pct(_latest_up_to(enrolment.get("post"), end))
    gain = ngain(pre_pct, post_pct)

    # The highest stage whose own condition holds (conditions are not cumulative).
    stage = 0
    attended = enrolment.get("att")
    if attended is not None and attended <= end:
        stage = 1
    if (post_pct is not None and post_pct >= rules.pathway_post_pct) or (
        gain is not None and gain >= rules.pathway_ngain
    ):
        stage = 2
    first_online = _first_digital_sale(ledger, program.get("start_on"), end)
    if first_online is not None:
        stage = 4 if _sustained(ledger, first_online, month, rules) else 3

    visits = enrolment.get("men") or []
    i = bisect_right(visits, end)
    last_mentoring_on = visits[i - 1] if i else None
    recent_from = month_start(add_months(month, 1 - rules.follow_up_mentoring_months))
    mentored_recently = (
        last_mentoring_on is not None and last_mentoring_on >= recent_from.isoformat()
    )
    end_on = program.get("end_on")
    needs_follow_up = (
        stage < 4
        and end_on is not None
        and end_on < month_start(month).isoformat()
        and not mentored_recently
    )
    return EnrolmentStatus(
        program_id=program_id,
        household_id=ledger["household_id"],
        stage=stage,
        stage_name=STAGE_NAMES[stage],
        needs_follow_up=needs_follow_up,
        last_mentoring_on=last_mentoring_on,
        ngain=gain,
        post_pct=post_pct,
        pre_pct=pre_pct,
    )


def _first_digital_sale(ledger: Ledger, start_on: str | None, end: str) -> str | None:
    if start_on is None:
        return None
    days = ledger["dd"]
    i = bisect_left(days, start_on)
    if i < len(days) and days[i] <= end:
        return days[i]
    return None


def _sustained(ledger: Ledger, first_online: str, month: str, rules: RuleSet) -> bool:
    """Digital sales in enough distinct months of the span starting with the first's month."""
    last = min(add_months(first_online[:7], rules.sustained_span_months - 1), month)
    days = ledger["dd"]
    seen: set[str] = set()
    for i in range(bisect_left(days, first_online), len(days)):
        key = days[i][:7]
        if key > last:
            break
        seen.add(key)
        if len(seen) >= rules.sustained_distinct_months:
            return True
    return False


def enrolment_statuses(
    ledger: Ledger, programs: Mapping[str, Mapping[str, Any]], month: str, rules: RuleSet
) -> list[EnrolmentStatus]:
    """The status of each of the household's enrolments up to M, by programme id."""
    found = []
    for program_id in sorted(ledger["enrol"]):
        program = programs.get(program_id) or {"program_id": program_id}
        status = enrolment_status(ledger, program, month, rules)
        if status is not None:
            found.append(status)
    return found


def follow_ups(statuses: Iterable[EnrolmentStatus]) -> list[dict[str, Any]]:
    """GET /resilience/villages/{code}/follow-ups items, by household then programme."""
    return [
        {
            "household_id": s.household_id,
            "program_id": s.program_id,
            "stage": s.stage,
            "last_mentoring_on": s.last_mentoring_on,
        }
        for s in sorted(statuses, key=lambda s: (s.household_id, s.program_id))
        if s.needs_follow_up
    ]


def program_participants(
    program: Mapping[str, Any], ledgers: Iterable[Ledger], month: str, rules: RuleSet
) -> list[dict[str, Any]]:
    """GET /resilience/programs/{id}/participants items, by household id."""
    items = []
    for ledger in sorted(ledgers, key=itemgetter("household_id")):
        status = enrolment_status(ledger, program, month, rules)
        if status is not None:
            items.append(
                {
                    "household_id": status.household_id,
                    "stage": status.stage,
                    "stage_name": status.stage_name,
                    "needs_follow_up": status.needs_follow_up,
                }
            )
    return items


# village and district --------------------------------------------------------------------
def _mean(values: Sequence[float], places: int) -> float | None:
    return round_half_up(math.fsum(values) / len(values), places) if values else None


def _share(part: float, whole: float) -> float:
    return round_half_up(part / whole, 3) if whole else 0.0


def village_summary(
    ledgers: Iterable[Ledger],
    programs: Mapping[str, Mapping[str, Any]],
    *,
    village_code: str,
    month: str,
    rules: RuleSet,
) -> dict[str, Any]:
    """The village answer of API.md at M, from the ledgers of the village's households.

    ``ledgers``: the village's households (unregistered ones are skipped); ``programs``:
    programme documents by id, for the enrolments' start and end days. Shares with an
    empty denominator are 0, means over no household are null. ``_index_sum`` (the sum of
    the published indexes over households_with_data) is internal: the district mean needs
    it and the route must not show it.
    """
    registered = [ledger for ledger in ledgers if ledger["registered"]]
    end = last_day(month)
    w = window_tuple(month, rules.window_months)
    scores = [score_household(ledger, month, rules) for ledger in registered]
    with_data = [s for s in scores if s.has_data]
    indexes = [s.index for s in with_data]
    index_mean = _mean(indexes, 1)

    bands = dict.fromkeys(BANDS, 0)
    for s in with_data:
        bands[s.band] += 1
    income = {key: sum(s.income[key] for s in scores) for key in (*SECTORS, "total", "digital")}
    businesses: set[str] = set()
    for ledger in registered:
        businesses |= businesses_with_sale(ledger, w)
    adopters = sum(
        1
        for ledger, s in zip(registered, scores, strict=True)
        if s.has_data and _practices_up_to(ledger, end)
    )
    statuses = [
        st for ledger in registered for st in enrolment_statuses(ledger, programs, month, rules)
    ]
    return {
        "village_code": village_code,
        "as_of": month,
        "households_registered": len(registered),
        "households_with_data": len(with_data),
        "coverage": _share(len(with_data), len(registered)),
        "index_mean": index_mean,
        "band": None if index_mean is None else band_of(index_mean, rules),
        "bands": bands,
        "pillars": {p: _mean([s.pillars[p] for s in with_data], 3) for p in PILLARS},
        "income": income,
        "digital_share": _share(income["digital"], income["total"]),
        "umkm_active": len(businesses),
        "green_adoption_rate": _share(adopters, len(with_data)),
        "training": training_summary(statuses),
        "rule_set": rules.name,
        "_index_sum": math.fsum(indexes),
    }


def training_summary(statuses: Sequence[EnrolmentStatus]) -> dict[str, Any]:
    gains = [s.ngain for s in statuses if s.ngain is not None]
    stages = {str(i): 0 for i in range(len(STAGE_NAMES))}
    for s in statuses:
        stages[str(s.stage)] += 1
    return {
        "participants": len({s.household_id for s in statuses}),
        "mean_ngain": _mean(gains, 3),
        "stages": stages,
    }


def village_index(ledgers: Iterable[Ledger], month: str, rules: RuleSet) -> tuple[float, int]:
    """(sum of published indexes, households_with_data) of registered households at M."""
    indexes = [
        s.index
        for s in (
            score_household(ledger, month, rules) for ledger in ledgers if ledger["registered"]
        )
        if s.has_data
    ]
    return math.fsum(indexes), len(indexes)


def village_trend(
    ledgers: Sequence[Ledger], month: str, n: int, rules: RuleSet
) -> list[dict[str, Any]]:
    """The trend items: index_mean and households_with_data of the ``n`` months ending at M."""
    items = []
    for key in window(month, n):
        index_sum, count = village_index(ledgers, key, rules)
        items.append(
            {
                "month": key,
                "index_mean": round_half_up(index_sum / count, 1) if count else None,
                "households_with_data": count,
            }
        )
    return items


def district_summary(
    district_code: str,
    month: str,
    village_summaries: Iterable[Mapping[str, Any]],
    names: Mapping[str, str],
    rules: RuleSet,
) -> dict[str, Any]:
    """The district answer: its index_mean is over all households_with_data (weighted by
    each village's count through ``_index_sum``), not a mean of the village means."""
    villages = sorted(village_summaries, key=itemgetter("village_code"))
    index_sum = math.fsum(v["_index_sum"] for v in villages)
    count = sum(v["households_with_data"] for v in villages)
    index_mean = round_half_up(index_sum / count, 1) if count else None
    return {
        "district_code": district_code,
        "as_of": month,
        "index_mean": index_mean,
        "band": None if index_mean is None else band_of(index_mean, rules),
        "households_with_data": count,
        "villages": [
            {
                "village_code": v["village_code"],
                "name": names.get(v["village_code"]),
                "index_mean": v["index_mean"],
                "band": v["band"],
                "coverage": v["coverage"],
                "households_with_data": v["households_with_data"],
            }
            for v in villages
        ],
        "rule_set": rules.name,
    }


# programme impact ------------------------------------------------------------------------
def _mean_digital(ledger: Ledger, months: Sequence[str]) -> float:
    return _sum_months(ledger["months"], months, "d") / len(months)


def _group_mean(group: Sequence[Ledger], months: Sequence[str]) -> int | None:
    if not group or not months:
        return None
    return money(math.fsum(_mean_digital(ledger, months) for ledger in group) / len(group))


def program_impact(
    program: Mapping[str, Any], ledgers: Iterable[Ledger], month: str, rules: RuleSet
) -> dict[str, Any]:
    """Difference in differences of monthly digital sales around the programme's start.

    ``ledgers``: the households registered in the programme's villages (unregistered ones
    are skipped). Participants are those enrolled in the programme up to M, the others
    are the comparison. Group means are whole rupiah (half away from zero) and ``did`` is
    computed from those published means. Months after M never count: ``after`` is
    S+1 … min(S+k, M), and ``before`` keeps only its months up to M (null if none).
    """
    program_id = program["program_id"]
    start = month_of(program["start_on"])
    end = last_day(month)
    k = rules.impact_months
    before = [m for m in month_range(add_months(start, -k), add_months(start, -1)) if m <= month]
    after = month_range(add_months(start, 1), min(add_months(start, k), month))
    participants: list[Ledger] = []
    comparison: list[Ledger] = []
    for ledger in ledgers:
        if not ledger["registered"]:
            continue
        enrolment = ledger["enrol"].get(program_id)
        enrolled = enrolment is not None and enrolment.get("on") is not None
        (participants if enrolled and enrolment["on"] <= end else comparison).append(ledger)
    before_p, after_p = _group_mean(participants, before), _group_mean(participants, after)
    before_c, after_c = _group_mean(comparison, before), _group_mean(comparison, after)
    did = None
    if None not in (before_p, after_p, before_c, after_c):
        did = (after_p - before_p) - (after_c - before_c)  # type: ignore[operator]
    return {
        "program_id": program_id,
        "participants": len(participants),
        "comparison": len(comparison),
        "before_participants": before_p,
        "after_participants": after_p,
        "before_comparison": before_c,
        "after_comparison": after_c,
        "did": did,
        "months_after": len(after),
    }


# village months in one pass ----------------------------------------------------------------
def village_months(
    ledgers: Iterable[Ledger],
    programs: Mapping[str, Mapping[str, Any]],
    *,
    village_code: str,
    months: Sequence[str],
    rules: RuleSet,
) -> list[tuple[dict[str, Any], list[EnrolmentStatus]]]:
    """``village_summary`` (and the enrolment statuses behind it) for each of ``months``
    (ascending), equal to calling it month by month, computed in one pass per household.

    Precomputing the village months is the aggregator's heaviest work: every registered
    household for every month in range. Here only what the village answer needs is
    computed (not ``explain``), each household's window sums slide from month to month,
    and a household is scored again only in the months where one of its inputs can change
    (a month enters or leaves a window, a dated fact starts to count); other months reuse
    the previous result. The formulas are the functions ``score_household`` uses
    (``_raw_pillars``, ``_index_of``), so the figures are identical to the last bit.
    """
    return [
        (summary, statuses)
        for summary, statuses, _ in village_months_with_totals(
            ledgers, programs, village_code=village_code, months=months, rules=rules
        )
    ]


def village_months_with_totals(
    ledgers: Iterable[Ledger],
    programs: Mapping[str, Mapping[str, Any]],
    *,
    village_code: str,
    months: Sequence[str],
    rules: RuleSet,
) -> list[tuple[dict[str, Any], list[EnrolmentStatus], VillageTotals]]:
    """:func:`village_months`, each month also as :class:`VillageTotals` (the sums a later
    change of one household can be added to and taken from)."""
    months = list(months)
    if any(b <= a for a, b in itertools.pairwise(months)):
        raise ValueError("months must be ascending")
    registered = [ledger for ledger in ledgers if ledger["registered"]]
    numbers = [_month_number(m) for m in months]
    ends = [last_day(m) for m in months]
    rows: list[list[tuple[Any, ...]]] = [[] for _ in months]
    businesses: list[Counter[str]] = [Counter() for _ in months]
    memo: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # same inputs, same index and pillars
    for ledger in registered:
        for i, row in enumerate(_household_rows(ledger, months, numbers, ends, rules, memo)):
            rows[i].append(row)
        windows = _business_windows(ledger, numbers, rules)
        if windows is not None:
            for counts, found in zip(businesses, windows, strict=True):
                if found:
                    counts.update(found)
    out = []
    for i, month in enumerate(months):
        statuses = [
            st
            for ledger in registered
            if ledger["enrol"]
            for st in enrolment_statuses(ledger, programs, month, rules)
        ]
        month_rows = rows[i]
        with_data = [row for row in month_rows if row[0]]
        every = list(zip(*month_rows, strict=True)) or [()] * 9
        data = list(zip(*with_data, strict=True)) or [()] * 9
        totals = VillageTotals(
            registered=len(month_rows),
            with_data=len(with_data),
            index_sum=_exact_sum(data[1]),
            bands=Counter(data[2]),
            pillar_sums=[_exact_sum(column) for column in _columns(with_data)],
            income=[sum(every[k]) for k in (4, 5, 6, 7)],
            businesses=businesses[i],
            adopters=sum(data[8]),
            statuses={
                hid: [_status_entry(st) for st in group]
                for hid, group in itertools.groupby(statuses, key=lambda st: st.household_id)
            },
        )
        out.append((totals.summary(village_code, month, rules), statuses, totals))
    return out


def _columns(with_data: Sequence[tuple[Any, ...]]) -> list[tuple[float, ...]]:
    return list(zip(*(row[3] for row in with_data), strict=True)) or [() for _ in PILLARS]


def _business_windows(
    ledger: Ledger, numbers: Sequence[int], rules: RuleSet
) -> list[frozenset[str]] | None:
    """Per month number (ascending): the household's businesses with a sale in the window
    ending then; None if it never sold."""
    sold = sorted(
        (_month_number(key), entry["b"]) for key, entry in ledger["months"].items() if "b" in entry
    )
    if not sold:
        return None
    span = rules.window_months
    out: list[frozenset[str]] = []
    inside: Counter[str] = Counter()
    added = dropped = 0
    current: frozenset[str] = frozenset()
    for number in numbers:
        changed = False
        while added < len(sold) and sold[added][0] <= number:
            inside.update(sold[added][1])
            added += 1
            changed = True
        while dropped < added and sold[dropped][0] <= number - span:
            inside.subtract(sold[dropped][1])
            dropped += 1
            changed = True
        if changed:
            current = frozenset(b for b, n in inside.items() if n > 0)
        out.append(current)
    return out


def _status_entry(status: EnrolmentStatus) -> list[Any]:
    return [
        status.program_id,
        status.stage,
        status.ngain,
        status.needs_follow_up,
        status.last_mentoring_on,
    ]


_EXACT_BITS = 128  # sums are kept as integers in units of 2**-128


@lru_cache(maxsize=65536)
def _exact(value: float) -> int:
    """``value`` as an exact integer number of 2**-128 (every published index and pillar is
    0 or at least 0.001, so none has a finer binary digit)."""
    num, den = value.as_integer_ratio()
    shift = _EXACT_BITS - (den.bit_length() - 1)
    if shift < 0:
        raise ValueError(f"{value!r} has binary digits below 2**-{_EXACT_BITS}")
    return num << shift


def _exact_sum(values: Iterable[float]) -> int:
    """The exact sum of ``values`` (few distinct ones: counted first)."""
    return sum(_exact(value) * n for value, n in Counter(values).items())


def _float(total: int) -> float:
    """The double nearest to an exact sum (integer division rounds correctly), which is
    what ``math.fsum`` returns for the values summed."""
    return total / (1 << _EXACT_BITS)


@dataclass
class VillageTotals:
    """One village month as sums over its registered households, from which its answer is
    computed, so that one household's old part can be taken away and its new part added.

    The sums of the published indexes and pillars are kept exact (integers, see
    ``_exact``): a double is an exact binary fraction, ``math.fsum`` returns the correctly
    rounded exact sum, and so does ``_float`` of the exact sum, so the means are identical
    to the last bit to those of a rebuild from every ledger, whatever the order of additions
    and removals."""

    registered: int = 0
    with_data: int = 0
    index_sum: int = 0  # exact, see _exact
    bands: Counter[str] = dataclasses.field(default_factory=Counter)
    pillar_sums: list[int] = dataclasses.field(default_factory=lambda: [0] * len(PILLARS))
    # umkm, crop, livestock, digital
    income: list[int] = dataclasses.field(default_factory=lambda: [0, 0, 0, 0])
    businesses: Counter[str] = dataclasses.field(default_factory=Counter)  # with a sale in window
    adopters: int = 0
    # household -> [program_id, stage, ngain, needs_follow_up, last_mentoring_on] per enrolment
    statuses: dict[str, list[list[Any]]] = dataclasses.field(default_factory=dict)

    def add(self, household_id: str, part: HouseholdPart, sign: int) -> None:
        """Add (sign 1) or take away (sign -1) one household's part of this month."""
        row, businesses, statuses = part
        self.registered += sign
        if row[0]:
            self.with_data += sign
            self.index_sum += sign * _exact(row[1])
            _bump(self.bands, row[2], sign)
            self.pillar_sums = [
                total + sign * _exact(value)
                for total, value in zip(self.pillar_sums, row[3], strict=True)
            ]
            if row[8]:
                self.adopters += sign
        for k in range(4):
            self.income[k] += sign * row[4 + k]
        for business in businesses:
            _bump(self.businesses, business, sign)
        if sign > 0 and statuses:
            self.statuses[household_id] = [list(entry) for entry in statuses]
        elif sign < 0:
            self.statuses.pop(household_id, None)

    def summary(self, village_code: str, month: str, rules: RuleSet) -> dict[str, Any]:
        """The village answer of API.md at the month (with the internal ``_index_sum``), as
        ``village_summary`` computes it."""
        n = self.with_data
        index_mean = round_half_up(_float(self.index_sum) / n, 1) if n else None
        umkm, crop, livestock, digital = self.income
        total = umkm + crop + livestock
        entries = [e for group in self.statuses.values() for e in group]
        gains = [e[2] for e in entries if e[2] is not None]
        stages = {str(i): 0 for i in range(len(STAGE_NAMES))}
        for entry in entries:
            stages[str(entry[1])] += 1
        return {
            "village_code": village_code,
            "as_of": month,
            "households_registered": self.registered,
            "households_with_data": n,
            "coverage": _share(n, self.registered),
            "index_mean": index_mean,
            "band": None if index_mean is None else band_of(index_mean, rules),
            "bands": {band: self.bands.get(band, 0) for band in BANDS},
            "pillars": {
                p: round_half_up(_float(self.pillar_sums[k]) / n, 3) if n else None
                for k, p in enumerate(PILLARS)
            },
            "income": {
                "umkm": umkm,
                "crop": crop,
                "livestock": livestock,
                "total": total,
                "digital": digital,
            },
            "digital_share": _share(digital, total),
            "umkm_active": len(self.businesses),
            "green_adoption_rate": _share(self.adopters, n),
            "training": {
                "participants": sum(1 for group in self.statuses.values() if group),
                "mean_ngain": _mean(gains, 3),
                "stages": stages,
            },
            "rule_set": rules.name,
            "_index_sum": _float(self.index_sum),
        }

    def follow_ups(self) -> list[dict[str, Any]]:
        """As :func:`follow_ups` of the month's enrolment statuses."""
        return [
            {
                "household_id": hid,
                "program_id": entry[0],
                "stage": entry[1],
                "last_mentoring_on": entry[4],
            }
            for hid, entries in sorted(self.statuses.items())
            for entry in sorted(entries, key=itemgetter(0))
            if entry[3]
        ]

    def to_doc(self) -> dict[str, Any]:
        """A storable form: exact sums as strings, counters as sorted pairs (ids are not
        safe field names)."""
        return {
            "registered": self.registered,
            "with_data": self.with_data,
            "index_sum": str(self.index_sum),
            "bands": dict(sorted(self.bands.items())),
            "pillar_sums": [str(total) for total in self.pillar_sums],
            "income": list(self.income),
            "businesses": [list(pair) for pair in sorted(self.businesses.items())],
            "adopters": self.adopters,
            "statuses": [[hid, entries] for hid, entries in sorted(self.statuses.items())],
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> VillageTotals:
        return cls(
            registered=doc["registered"],
            with_data=doc["with_data"],
            index_sum=int(doc["index_sum"]),
            bands=Counter(doc["bands"]),
            pillar_sums=[int(total) for total in doc["pillar_sums"]],
            income=list(doc["income"]),
            businesses=Counter(dict(doc["businesses"])),
            adopters=doc["adopters"],
            statuses={hid: [list(e) for e in entries] for hid, entries in doc["statuses"]},
        )


HouseholdPart = tuple[tuple[Any, ...], frozenset[str], tuple[tuple[Any, ...], ...]]


def _bump(counts: Counter[Any], key: Any, sign: int) -> None:
    left = counts[key] + sign
    if left:
        counts[key] = left
    else:
        del counts[key]


def household_parts(
    ledger: Ledger,
    programs: Mapping[str, Mapping[str, Any]],
    months: Sequence[str],
    rules: RuleSet,
) -> list[HouseholdPart] | None:
    """One household's part of each of ``months`` (ascending) of its village's totals, or
    None if it is not registered (it counts nowhere)."""
    if not ledger["registered"]:
        return None
    months = list(months)
    numbers = [_month_number(m) for m in months]
    ends = [last_day(m) for m in months]
    rows = _household_rows(ledger, months, numbers, ends, rules, {})
    windows = _business_windows(ledger, numbers, rules) or [frozenset()] * len(months)
    parts: list[HouseholdPart] = []
    for i, month in enumerate(months):
        statuses = (
            tuple(
                tuple(_status_entry(st))
                for st in enrolment_statuses(ledger, programs, month, rules)
            )
            if ledger["enrol"]
            else ()
        )
        parts.append((rows[i], windows[i], statuses))
    return parts


@lru_cache(maxsize=8192)
def _month_number(key: str) -> int:
    """``YYYY-MM`` (or the month of ``YYYY-MM-DD``) as a count of months."""
    return int(key[:4]) * 12 + int(key[5:7]) - 1


def _household_rows(
    ledger: Ledger,
    months: list[str],
    numbers: list[int],
    ends: list[str],
    rules: RuleSet,
    memo: dict[tuple[Any, ...], tuple[Any, ...]],
) -> list[tuple[Any, ...]]:
    """Per month: (has_data, index, band, rounded pillars, umkm, crop, livestock, digital,
    any practice up to M) -- what the village answer needs of one registered household."""
    span, shock_span, visit_span = (
        rules.window_months,
        rules.shock_months,
        rules.capacity_mentoring_months,
    )
    table = ledger["months"]
    entries = sorted((_month_number(key), entry) for key, entry in table.items())
    # The months in which an input can change: a month entering or leaving a window, or a
    # dated fact (herd, plot, practice, first data, size update) starting to count.
    changes: set[int] = set()
    for number, entry in entries:
        changes.add(number)
        changes.add(number + span)
        if "s" in entry:
            changes.add(number + shock_span)
        if "m" in entry:
            changes.add(number + visit_span)
    herds = ledger["herds"]
    herd_changes: set[int] = set()
    for herd in herds.values():
        herd_changes.update(_month_number(key) for key in herd["d"])
        if "r" in herd:
            herd_changes.add(_month_number(herd["r"][0]))
    changes |= herd_changes
    plots = sorted(ledger["plots"].values(), key=_day)
    plot_days = [day for day, _ in plots]
    practice_days = sorted(ledger["practices"].values())
    changes.update(_month_number(day) for day in plot_days)
    changes.update(_month_number(day) for day in practice_days)
    first_data = ledger["first_data_on"]
    if first_data is not None:
        changes.add(_month_number(first_data))
    changes.update(_month_number(entry[0]) for entry in ledger["upd"])
    every_month = bool(ledger["enrol"])  # pathway facts: rare, so simply every month
    fixed_size = None if ledger["upd"] else household_size(ledger, "")
    hectare_sums = [math.fsum(area for _, area in plots[:k]) for k in range(len(plots) + 1)]

    sums = [0, 0, 0, 0, 0, 0, 0]  # u, c, l, d, cap, o, x over the window
    shocks = visits = 0
    channels: dict[str, int] = {}  # channel -> window months that name it
    added = out_w = out_s = out_v = 0
    count = len(entries)
    rows: list[tuple[Any, ...]] = []
    row: tuple[Any, ...] = ()
    previous: tuple[Any, ...] | None = None
    tlu = 0.0
    for i, number in enumerate(numbers):
        if i and not every_month and number not in changes:
            rows.append(row)
            continue
        while added < count and entries[added][0] <= number:
            entry = entries[added][1]
            for k, field in enumerate(_W_FIELDS):
                sums[k] += entry.get(field, 0)
            shocks += entry.get("s", 0)
            visits += entry.get("m", 0)
            for ch in entry.get("ch", ()):
                channels[ch] = channels.get(ch, 0) + 1
            added += 1
        while out_w < added and entries[out_w][0] <= number - span:
            entry = entries[out_w][1]
            for k, field in enumerate(_W_FIELDS):
                sums[k] -= entry.get(field, 0)
            for ch in entry.get("ch", ()):
                left = channels[ch] - 1
                if left:
                    channels[ch] = left
                else:
                    del channels[ch]
            out_w += 1
        while out_s < added and entries[out_s][0] <= number - shock_span:
            shocks -= entries[out_s][1].get("s", 0)
            out_s += 1
        while out_v < added and entries[out_v][0] <= number - visit_span:
            visits -= entries[out_v][1].get("m", 0)
            out_v += 1
        end = ends[i]
        umkm, crop, livestock, digital, capital, organic, chemical = sums
        size = fixed_size if fixed_size is not None else household_size(ledger, end)
        post, confidence = _latest_post_and_confidence(ledger, end) if every_month else (None, None)
        if herds and (not i or number in herd_changes):
            tlu = _tlu(ledger, months[i], end, rules)[0]
        practice_count = bisect_right(practice_days, end)
        inputs = (
            umkm, crop, livestock, digital, len(channels), size, post, confidence, visits,
            tlu, hectare_sums[bisect_right(plot_days, end)], capital, practice_count,
            organic, chemical, shocks,
        )  # fmt: skip
        if inputs != previous:
            found = memo.get(inputs) if post is None and confidence is None else None
            if found is None:
                raw = _raw_pillars(*inputs, rules)
                index = _index_of(raw, raw[6], rules)
                found = (index, band_of(index, rules), tuple(map(_round3, raw[:6])))
                if post is None and confidence is None:
                    memo[inputs] = found
            scored = found
            previous = inputs
        has = first_data is not None and first_data <= end
        row = (has, *scored, umkm, crop, livestock, digital, practice_count > 0)
        rows.append(row)
    return rows


_W_FIELDS = ("u", "c", "l", "d", "cap", "o", "x")


def _round3(value: float) -> float:
    """``round_half_up(value, 3)``: its fast path inlined, the same fallback near ties."""
    scaled = value * 1000.0
    if -_FAST_LIMIT < scaled < _FAST_LIMIT:
        floor = math.floor(scaled)
        frac = scaled - floor
        if abs(frac - 0.5) > _TIE_MARGIN:
            return (floor + (frac > 0.5)) / 1000.0 + 0.0
    return round_half_up(value, 3)
