"""The aggregator's parts, built once per runtime: rule set, view builder, projector."""

from __future__ import annotations

from dataclasses import dataclass

from services.aggregator.domain.rules import DEFAULT_RULES, RuleSet, load_rules
from services.aggregator.projector import Projector
from services.aggregator.views import ViewBuilder
from shared.runtime import Runtime

# The live consumer rebuilds touched villages at most this often under steady load.
VIEW_FLUSH_INTERVAL_S = 0.25
# Under steady load, district months take in their villages' changes at most this often
# (an idle poll writes them at once); village months change with every batch.
DISTRICT_FLUSH_INTERVAL_S = 1.0


@dataclass
class Aggregator:
    rules: RuleSet
    views: ViewBuilder
    projector: Projector


def rules_from(runtime: Runtime) -> RuleSet:
    path = runtime.settings.rules_file
    return load_rules(path.read_text()) if path is not None else DEFAULT_RULES


def aggregator_of(runtime: Runtime) -> Aggregator:
    found = runtime.extras.get("aggregator")
    if found is None:
        rules = rules_from(runtime)
        views = ViewBuilder(
            runtime.store,
            rules,
            runtime.clock,
            history_months=runtime.settings.view_months,
            workers=runtime.settings.views_in_workers,
        )
        runtime.closers.append(views.close)
        projector = Projector(
            runtime.store,
            views,
            full_batch=runtime.settings.consumer_batch,
            min_flush_interval_s=VIEW_FLUSH_INTERVAL_S,
            district_interval_s=DISTRICT_FLUSH_INTERVAL_S,
        )
        found = Aggregator(rules, views, projector)
        runtime.extras["aggregator"] = found
    return found
