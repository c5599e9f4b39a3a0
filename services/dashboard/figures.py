"""The dashboard's charts: resilience answers turned into labelled SVG (see ``charts``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from services.aggregator.domain.rules import RuleSet
from services.aggregator.domain.scoring import BANDS, PILLARS, SECTORS, STAGE_NAMES
from services.dashboard.charts import Bar, Point, Series, grouped_bars, hbars, line_chart
from services.dashboard.i18n import MONTHS_SHORT, Translator


def pillar_chart(tr: Translator, pillars: Mapping[str, float | None], chart_id: str) -> Markup:
    bars = [
        Bar(
            tr.pillar(p),
            pillars.get(p) or 0.0,
            tr.num(pillars.get(p), 3),
            "brand",
            f"pillar_{p}",
            pillars.get(p),
        )
        for p in PILLARS
    ]
    desc = "; ".join(f"{b.label} {b.text}" for b in bars)
    return hbars(bars, chart_id=chart_id, title=tr("pillars"), desc=desc, max_value=1.0)


def band_chart(tr: Translator, bands: Mapping[str, int], chart_id: str) -> Markup:
    total = sum(bands.values())
    bars = [
        Bar(
            tr.band(b),
            bands.get(b, 0),
            f"{tr.num(bands.get(b, 0))} ({tr.pct(bands.get(b, 0) / total if total else 0, 0)})",
            b,
            f"bands_{b}",
            bands.get(b, 0),
        )
        for b in BANDS
    ]
    desc = "; ".join(f"{b.label} {b.text}" for b in bars)
    return hbars(bars, chart_id=chart_id, title=tr("bands_title"), desc=desc, max_value=total or 1)


def trend_chart(
    tr: Translator, items: Sequence[Mapping[str, Any]], rules: RuleSet, chart_id: str
) -> Markup:
    points = []
    for i, item in enumerate(items):
        year, month = item["month"].split("-")
        show_year = i == 0 or month == "01"
        points.append(
            Point(
                MONTHS_SHORT[tr.lang][int(month) - 1],
                item["index_mean"],
                tr.num(item["index_mean"], 1),
                year if show_year else "",
            )
        )
    desc = "; ".join(f"{tr.month(i['month'])}: {tr.num(i['index_mean'], 1)}" for i in items)
    return line_chart(
        points,
        chart_id=chart_id,
        title=tr("trend_title"),
        desc=desc,
        thresholds=(rules.band_berkembang, rules.band_tangguh),
        tick_text=(tr.num(rules.band_berkembang, 0), tr.num(rules.band_tangguh, 0)),
    )


def income_chart(tr: Translator, income: Mapping[str, int], chart_id: str) -> Markup:
    bars = [
        Bar(tr.sector(s), income[s], tr.money(income[s]), "brand", f"income_{s}", income[s])
        for s in SECTORS
    ]
    digital = income["digital"]
    bars.append(
        Bar(tr("digital_sales"), digital, tr.money(digital), "accent", "income_digital", digital)
    )
    desc = "; ".join(f"{b.label} {b.text}" for b in bars)
    return hbars(
        bars,
        chart_id=chart_id,
        title=tr("income_title"),
        desc=desc,
        max_value=income.get("total") or 1,
    )


def funnel_chart(tr: Translator, stages: Mapping[str, int], chart_id: str) -> Markup:
    top = max([*stages.values(), 1])
    bars = [
        Bar(
            f"{i}. {tr.stage(i)}",
            stages.get(str(i), 0),
            tr.num(stages.get(str(i), 0)),
            "brand",
            f"stage_{i}",
            stages.get(str(i), 0),
        )
        for i in range(len(STAGE_NAMES))
    ]
    desc = "; ".join(f"{b.label} {b.text}" for b in bars)
    return hbars(bars, chart_id=chart_id, title=tr("funnel_title"), desc=desc, max_value=top)


def impact_chart(tr: Translator, impact: Mapping[str, Any], chart_id: str) -> Markup:
    groups = [tr("before"), tr("after")]
    participants = (impact["before_participants"], impact["after_participants"])
    comparison = (impact["before_comparison"], impact["after_comparison"])
    series = [
        Series(
            f"{tr('participants')} (n={impact['participants']})",
            "brand",
            participants,
            [tr.num(v) for v in participants],
        ),
        Series(
            f"{tr('comparison')} (n={impact['comparison']})",
            "grey",
            comparison,
            [tr.num(v) for v in comparison],
        ),
    ]
    desc = "; ".join(
        f"{s.name}: {groups[0]} {s.texts[0]}, {groups[1]} {s.texts[1]}" for s in series
    )
    return grouped_bars(groups, series, chart_id=chart_id, title=tr("impact_title"), desc=desc)
