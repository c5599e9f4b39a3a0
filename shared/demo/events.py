"""The demo stream as CloudEvents, for tools that write straight into the topics.

Each command becomes the event its route would record: the same payload model from the
catalogue, fed with the body, the ids the route takes from the path or the parent record,
and the amounts the route derives. Event ids derive from the command's Idempotency-Key, so
the same seed gives the same ids (a second load is deduplicated by the aggregator).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from shared.commands import build_event
from shared.demo.model import Command
from shared.events.catalogue import CATALOGUE
from shared.events.envelope import topic_for
from shared.money import rupiah_amount
from shared.ports.bus import Message


def _derived(command: Command) -> dict[str, Any]:
    body = command.body
    if command.event == "sale_recorded":
        return {"amount": rupiah_amount(body["quantity"], body["unit_price"])}
    if command.event == "produce_sold":
        return {"amount": rupiah_amount(body["kg"], body["price_per_kg"])}
    if command.event == "livestock_sold":
        return {"amount": body["count"] * body["price_per_head"]}
    return {}


def to_event(command: Command) -> dict[str, Any]:
    """The wire form (a dict) of the CloudEvent the command's route would publish."""
    model = CATALOGUE[command.service][command.event]
    payload = model.model_validate({**command.body, **command.refs, **_derived(command)})
    return build_event(
        payload,
        village_code=command.village_code,
        subject=command.household_id,
        event_id="ev-" + command.key.removeprefix("demo-")[:32],
    )


def to_events(commands: Iterable[Command]) -> Iterator[dict[str, Any]]:
    for command in commands:
        yield to_event(command)


def to_messages(commands: Iterable[Command]) -> Iterator[Message]:
    """Bus messages as the outbox relay would publish them (topic per service, key = village)."""
    for command in commands:
        event = to_event(command)
        value = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        yield Message(topic_for(command.service), command.village_code, value)
