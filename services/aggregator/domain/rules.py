"""The versioned rule set: every numeric parameter of RESILIENCE.md, overridable per district.

The view always names the rule set that produced it. A district override is a JSON or TOML
document with its own ``name`` and any subset of the fields below; nested tables
(``weights``, ``tlu``) may be overridden key by key. Unknown fields are refused so a typo
in an override fails loudly instead of silently keeping the default.

Three constants of the formulas are structural rather than parameters, so they are derived
instead of configurable: the diversity normaliser 2/3 (the maximum of 1 - Σ s² over three
sectors), the capacity divisor 3 (three equally weighted parts) and the confidence scale
(c - 1) / 4 (the 1-5 scale of ``confidence_recorded``).
"""

from __future__ import annotations

import json
import math
import tomllib
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.events.vocab import Species

_TOLERANCE = 1e-9
SPECIES: tuple[str, ...] = get_args(Species)


class PillarWeights(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    income: float = Field(0.25, ge=0, le=1)
    diversity: float = Field(0.15, ge=0, le=1)
    digital: float = Field(0.20, ge=0, le=1)
    capacity: float = Field(0.15, ge=0, le=1)
    assets: float = Field(0.15, ge=0, le=1)
    green: float = Field(0.10, ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> PillarWeights:
        _check_sum("weights", self.model_dump().values())
        return self


def _default_tlu() -> dict[str, float]:
    return {
        "cattle": 0.65,
        "buffalo": 0.7,
        "pig": 0.25,
        "goat": 0.1,
        "sheep": 0.1,
        "chicken": 0.01,
        "duck": 0.01,
        "other": 0.0,
    }


def _check_sum(what: str, values: Any) -> None:
    total = math.fsum(values)
    if abs(total - 1.0) > _TOLERANCE:
        raise ValueError(f"{what} must sum to 1, not {total}")


class RuleSet(BaseModel):
    """Parameters of the household index, the pathway and the programme impact."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field("lumbung-2026.1", min_length=1, max_length=100)
    version: str = Field("2026.1", min_length=1, max_length=40)

    # time
    window_months: int = Field(12, ge=1, le=120, description="months in the window W")

    # income pillar
    poverty_line: int = Field(600_000, gt=0, description="IDR per person per month")
    income_poverty_multiple: float = Field(2.0, gt=0, description="full marks at this x line")

    weights: PillarWeights = Field(default_factory=PillarWeights)

    # digital pillar
    digital_share_weight: float = Field(0.7, ge=0, le=1)
    digital_channel_weight: float = Field(0.3, ge=0, le=1)
    digital_channel_cap: int = Field(3, ge=1)

    # capacity pillar
    capacity_mentoring_months: int = Field(6, ge=1)
    capacity_mentoring_cap: int = Field(3, ge=1)

    # assets pillar
    assets_tlu_weight: float = Field(0.5, ge=0, le=1)
    assets_land_weight: float = Field(0.25, ge=0, le=1)
    assets_capital_weight: float = Field(0.25, ge=0, le=1)
    assets_tlu_cap: float = Field(2.0, gt=0)
    assets_hectare_cap: float = Field(1.0, gt=0)
    tlu: dict[str, float] = Field(default_factory=_default_tlu, description="TLU per head")

    # green pillar
    green_practice_weight: float = Field(0.6, ge=0, le=1)
    green_organic_weight: float = Field(0.4, ge=0, le=1)
    green_practice_cap: int = Field(3, ge=1)

    # shocks
    shock_per_event: float = Field(0.1, ge=0, le=1)
    shock_cap: float = Field(0.3, ge=0, le=1)
    shock_months: int = Field(6, ge=1)

    # bands (index thresholds)
    band_berkembang: float = Field(40.0, ge=0, le=100, description="lowest index of berkembang")
    band_tangguh: float = Field(70.0, ge=0, le=100, description="lowest index of tangguh")

    # training pathway
    pathway_post_pct: float = Field(70.0, ge=0, le=100, description="stage 2: post% at least")
    pathway_ngain: float = Field(0.3, le=1, description="stage 2: N-gain at least")
    sustained_distinct_months: int = Field(3, ge=1, description="stage 4: months with sales")
    sustained_span_months: int = Field(6, ge=1, description="stage 4: within this many months")
    follow_up_mentoring_months: int = Field(
        2, ge=1, description="no follow-up if mentored in M or the months just before it"
    )

    # programme impact
    impact_months: int = Field(6, ge=1, description="months before and after the start month")

    @field_validator("tlu")
    @classmethod
    def _known_species(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(SPECIES))
        if unknown:
            raise ValueError(f"unknown species: {', '.join(unknown)}")
        if any(not math.isfinite(v) or v < 0 for v in value.values()):
            raise ValueError("TLU coefficients must be finite and >= 0")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RuleSet:
        _check_sum("digital weights", (self.digital_share_weight, self.digital_channel_weight))
        _check_sum(
            "assets weights",
            (self.assets_tlu_weight, self.assets_land_weight, self.assets_capital_weight),
        )
        _check_sum("green weights", (self.green_practice_weight, self.green_organic_weight))
        if not self.band_berkembang < self.band_tangguh:
            raise ValueError("band thresholds must be ordered: band_berkembang < band_tangguh")
        if self.sustained_distinct_months > self.sustained_span_months:
            raise ValueError("sustained_distinct_months cannot exceed sustained_span_months")
        return self

    def coefficient(self, species: str | None) -> float:
        return self.tlu.get(species or "other", 0.0)


DEFAULT_RULES = RuleSet()


def load_rules(text: str | None) -> RuleSet:
    """The rule set of a district override document (JSON or TOML), or the default.

    The override must carry its own ``name``; its fields replace the defaults (nested
    tables key by key). Raises ValueError on a malformed or invalid document.
    """
    if text is None or not text.strip():
        return DEFAULT_RULES
    override = _parse(text)
    if not isinstance(override.get("name"), str) or not override["name"].strip():
        raise ValueError("a rule set override must have its own name")
    return RuleSet.model_validate(_merge(DEFAULT_RULES.model_dump(), override))


def _parse(text: str) -> dict[str, Any]:
    if text.lstrip().startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"rule set is not valid JSON: {exc}") from None
    else:
        try:
            parsed = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"rule set is neither JSON nor valid TOML: {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError("a rule set override must be an object")
    return parsed


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged
