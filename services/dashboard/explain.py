"""A household's index taken apart: each pillar's value, weight, points and the arithmetic
with the household's own raw numbers, so an operator can say why a family is "rentan".

Everything comes from the household answer (its ``pillars`` and ``explain``) and the rule
set in force; nothing is recomputed differently from the API.
"""

# ruff: noqa: RUF001 - typographic dashes, minus and times signs are meant for the reader

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.aggregator.domain.rules import RuleSet
from services.aggregator.domain.scoring import PILLARS, SECTORS
from services.dashboard.i18n import Translator


@dataclass(frozen=True)
class PillarRow:
    key: str
    value: float
    weight: float
    facts: list[tuple[str, str]] = field(default_factory=list)
    formula: str = ""

    @property
    def points(self) -> float:
        return 100 * self.weight * self.value

    @property
    def max_points(self) -> float:
        return 100 * self.weight

    @property
    def lost(self) -> float:
        return self.max_points - self.points


@dataclass(frozen=True)
class Explanation:
    rows: list[PillarRow]
    shock_facts: list[tuple[str, str]]
    shock_formula: str
    why: list[str]

    @property
    def points(self) -> float:
        return sum(r.points for r in self.rows)


def band_rule(band: str | None, rules: RuleSet, tr: Translator) -> str:
    low, high = tr.num(rules.band_berkembang, 0), tr.num(rules.band_tangguh, 0)
    if band == "rentan":
        return f"< {low}"
    if band == "berkembang":
        return f"{low} – < {high}"
    return f"≥ {high}"


def explain(answer: dict[str, Any], has_data: bool, rules: RuleSet, tr: Translator) -> Explanation:
    ex = answer.get("explain") or {}
    pillars = answer["pillars"]
    weights = rules.weights.model_dump()
    sep = "; " if tr.lang == "id" else ", "

    def n3(v: float | None) -> str:
        return tr.num(v, 3)

    def w(v: float) -> str:
        return tr.num(v, 2)

    income = ex.get("income", {})
    shares = ex.get("diversity", {}).get("shares", {})
    digital = ex.get("digital", {})
    capacity = ex.get("capacity", {})
    assets = ex.get("assets", {})
    green = ex.get("green", {})
    shocks = ex.get("shocks", {}).get("count", 0)
    total = income.get("total", answer["income"]["total"])
    missing = tr("missing_counts_zero")

    rows = {
        "income": (
            [
                (tr("ex_income_total"), tr.money(total)),
                (tr("ex_members"), f"{tr.num(income.get('size'))} {tr('people')}"),
                (tr("ex_per_capita"), tr.money(income.get("per_capita_month"))),
                (
                    tr(
                        "ex_target",
                        multiple=tr.num(rules.income_poverty_multiple, 0),
                        line=tr.money(rules.poverty_line),
                    ),
                    tr.money(income.get("target_per_capita_month")),
                ),
            ],
            f"min(1{sep}{tr.money(income.get('per_capita_month'))} / "
            f"{tr.money(income.get('target_per_capita_month'))}) = {n3(pillars['income'])}",
        ),
        "diversity": (
            [
                (
                    tr("ex_shares"),
                    ", ".join(f"{tr.sector(s)} {tr.pct(shares.get(s, 0))}" for s in SECTORS),
                ),
            ],
            (
                "(1 − ("
                + " + ".join(f"{n3(shares.get(s, 0))}²" for s in SECTORS)
                + f")) / (2/3) = {n3(pillars['diversity'])}"
                if total
                else f"{tr('ex_income_total')} = 0 → 0"
            ),
        ),
        "digital": (
            [
                (tr("digital_share"), tr.pct(digital.get("digital_share"))),
                (
                    tr("ex_channels"),
                    f"{digital.get('channel_count', 0)} ({tr.words(digital.get('channels', []))})",
                ),
            ],
            (
                f"{w(rules.digital_share_weight)} × {n3(digital.get('digital_share'))} + "
                f"{w(rules.digital_channel_weight)} × min(1{sep}"
                f"{digital.get('channel_count', 0)}/{rules.digital_channel_cap}) = "
                f"{n3(pillars['digital'])}"
                if total
                else f"{tr('ex_income_total')} = 0 → 0"
            ),
        ),
        "capacity": (
            [
                (
                    tr("ex_post"),
                    missing
                    if capacity.get("post_pct") is None
                    else f"{tr.num(capacity['post_pct'], 1)}%",
                ),
                (
                    tr("ex_confidence"),
                    missing
                    if capacity.get("confidence") is None
                    else tr.num(capacity["confidence"]),
                ),
                (
                    tr("ex_mentoring", n=rules.capacity_mentoring_months),
                    tr.num(capacity.get("mentoring_visits", 0)),
                ),
            ],
            f"(u {n3(capacity.get('u', 0))} + c {n3(capacity.get('c', 0))} + "
            f"m {n3(capacity.get('m', 0))}) / 3 = {n3(pillars['capacity'])}",
        ),
        "assets": (
            [
                (
                    tr("ex_tlu"),
                    f"{tr.dec(assets.get('tlu', 0))} ("
                    + (
                        ", ".join(
                            f"{n} {tr.species(s)}" for s, n in assets.get("heads", {}).items() if n
                        )
                        or tr("ex_none")
                    )
                    + ")",
                ),
                (tr("ex_hectares"), tr.dec(assets.get("hectares", 0))),
                (tr("ex_capital"), tr("yes") if assets.get("capital") else tr("no")),
            ],
            f"{w(rules.assets_tlu_weight)} × min(1{sep}{tr.dec(assets.get('tlu', 0))}/"
            f"{tr.dec(rules.assets_tlu_cap)}) + {w(rules.assets_land_weight)} × min(1{sep}"
            f"{tr.dec(assets.get('hectares', 0))}/{tr.dec(rules.assets_hectare_cap)}) + "
            f"{w(rules.assets_capital_weight)} × {1 if assets.get('capital') else 0} = "
            f"{n3(pillars['assets'])}",
        ),
        "green": (
            [
                (
                    tr("ex_practices"),
                    f"{green.get('practice_count', 0)} ({tr.words(green.get('practices', []))})",
                ),
                (
                    tr("ex_inputs"),
                    f"{tr.dec(green.get('organic_kg', 0))} / {tr.dec(green.get('chemical_kg', 0))}",
                ),
                (tr("ex_organic_share"), tr.pct(green.get("organic_share", 0))),
            ],
            f"{w(rules.green_practice_weight)} × min(1{sep}{green.get('practice_count', 0)}/"
            f"{rules.green_practice_cap}) + {w(rules.green_organic_weight)} × "
            f"{n3(green.get('organic_share', 0))} = {n3(pillars['green'])}",
        ),
    }
    pillar_rows = [
        PillarRow(key=p, value=pillars[p], weight=weights[p], facts=rows[p][0], formula=rows[p][1])
        for p in PILLARS
    ]
    factor = answer["shock_factor"]
    shock_facts = [(tr("ex_shocks", n=rules.shock_months), tr.num(shocks))]
    shock_formula = (
        f"1 − min({w(rules.shock_cap)}{sep}{w(rules.shock_per_event)} × {shocks}) = {n3(factor)}"
    )

    why = [
        tr(
            "why_band",
            index=tr.num(answer["index"], 1),
            band=tr.band(answer["band"]),
            rule=band_rule(answer["band"], rules, tr),
        )
    ]
    worst = sorted((r for r in pillar_rows if r.lost >= 0.05), key=lambda r: -r.lost)[:3]
    if worst:
        named = ", ".join(f"{tr.pillar(r.key)} (−{tr.num(r.lost, 1)})" for r in worst)
        why.append(tr("why_lost", pillars=named))
    if factor < 1:
        why.append(tr("why_shock", pct=tr.pct(1 - factor, 0)))
    if not has_data:
        why.append(tr("why_nodata"))
    return Explanation(pillar_rows, shock_facts, shock_formula, why)
