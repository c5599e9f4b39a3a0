"""The versioned rule set: defaults of RESILIENCE.md, validation and district overrides."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.aggregator.domain.rules import DEFAULT_RULES, RuleSet, load_rules


def test_the_default_rule_set_holds_every_parameter_of_resilience_md() -> None:
    r = DEFAULT_RULES
    assert (r.name, r.version) == ("lumbung-2026.1", "2026.1")
    assert (r.poverty_line, r.income_poverty_multiple, r.window_months) == (600_000, 2.0, 12)
    assert r.weights.model_dump() == {
        "income": 0.25,
        "diversity": 0.15,
        "digital": 0.20,
        "capacity": 0.15,
        "assets": 0.15,
        "green": 0.10,
    }
    assert (r.digital_share_weight, r.digital_channel_weight, r.digital_channel_cap) == (
        0.7,
        0.3,
        3,
    )
    assert (r.capacity_mentoring_months, r.capacity_mentoring_cap) == (6, 3)
    assert (r.assets_tlu_weight, r.assets_land_weight, r.assets_capital_weight) == (
        0.5,
        0.25,
        0.25,
    )
    assert (r.assets_tlu_cap, r.assets_hectare_cap) == (2.0, 1.0)
    assert (r.green_practice_weight, r.green_organic_weight, r.green_practice_cap) == (0.6, 0.4, 3)
    assert r.tlu == {
        "cattle": 0.65,
        "buffalo": 0.7,
        "pig": 0.25,
        "goat": 0.1,
        "sheep": 0.1,
        "chicken": 0.01,
        "duck": 0.01,
        "other": 0.0,
    }
    assert (r.shock_per_event, r.shock_cap, r.shock_months) == (0.1, 0.3, 6)
    assert (r.band_berkembang, r.band_tangguh) == (40.0, 70.0)
    assert (r.pathway_post_pct, r.pathway_ngain) == (70.0, 0.3)
    assert (r.sustained_distinct_months, r.sustained_span_months) == (3, 6)
    assert r.follow_up_mentoring_months == 2
    assert r.impact_months == 6


def test_the_dump_shown_by_the_rules_route_is_plain_json_data() -> None:
    dumped = DEFAULT_RULES.model_dump()
    assert dumped["name"] == "lumbung-2026.1"
    assert dumped["weights"]["digital"] == 0.2
    assert dumped["tlu"]["buffalo"] == 0.7
    assert RuleSet.model_validate(dumped) == DEFAULT_RULES


def test_a_rule_set_is_frozen() -> None:
    with pytest.raises(ValidationError):
        DEFAULT_RULES.poverty_line = 1  # type: ignore[misc]


def test_no_override_gives_the_default() -> None:
    assert load_rules(None) is DEFAULT_RULES
    assert load_rules("  \n") is DEFAULT_RULES


def test_a_json_override_replaces_only_the_fields_it_names() -> None:
    rules = load_rules(
        '{"name": "garut-2026.1", "poverty_line": 550000,'
        ' "weights": {"income": 0.30, "diversity": 0.10}}'
    )
    assert rules.name == "garut-2026.1"
    assert rules.poverty_line == 550_000
    # 0.30 + 0.10 + 0.20 + 0.15 + 0.15 + 0.10 = 1.00: the other weights keep their defaults
    assert rules.weights.income == 0.30 and rules.weights.diversity == 0.10
    assert rules.weights.digital == 0.20 and rules.weights.green == 0.10
    assert rules.band_tangguh == 70.0


def test_a_toml_override_can_change_one_tlu_coefficient() -> None:
    rules = load_rules('name = "sumba-2026.1"\nband_tangguh = 75\n\n[tlu]\ngoat = 0.12\n')
    assert rules.name == "sumba-2026.1"
    assert rules.band_tangguh == 75.0
    assert rules.tlu["goat"] == 0.12 and rules.tlu["cattle"] == 0.65


@pytest.mark.parametrize(
    "text",
    [
        '{"poverty_line": 550000}',  # no name of its own
        '{"name": ""}',
        '{"name": "x", "weights": {"income": 0.5}}',  # weights sum to 1.25
        '{"name": "x", "digital_share_weight": 0.8}',  # 0.8 + 0.3 != 1
        '{"name": "x", "band_berkembang": 70, "band_tangguh": 40}',  # thresholds reversed
        '{"name": "x", "band_berkembang": 50, "band_tangguh": 50}',
        '{"name": "x", "povery_line": 1}',  # a typo is refused, not ignored
        '{"name": "x", "tlu": {"camel": 1.0}}',
        '{"name": "x", "tlu": {"goat": -1}}',
        '{"name": "x", "poverty_line": 0}',
        '{"name": "x", "sustained_distinct_months": 7}',
        '["not", "an", "object"]',
        "{not json",
        "name = ",
    ],
)
def test_an_invalid_override_is_refused_with_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        load_rules(text)


def test_weights_may_differ_from_one_by_float_noise_only() -> None:
    # 0.1 + 0.2 + 0.3 + 0.1 + 0.2 + 0.1 is 0.9999999999999999 in binary floats
    rules = RuleSet(
        weights={
            "income": 0.1,
            "diversity": 0.2,
            "digital": 0.3,
            "capacity": 0.1,
            "assets": 0.2,
            "green": 0.1,
        }
    )
    assert rules.weights.digital == 0.3
    with pytest.raises(ValidationError):
        RuleSet(weights={"income": 0.25 + 1e-6})
