"""Generates the event catalogue from the pydantic models: one JSON Schema per event type
and one AsyncAPI 3.0 document. ``python -m shared.events.generate`` rewrites the files; a
test fails when the committed files drift from the models."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.events.catalogue import CATALOGUE, FREE_TEXT, Payload
from shared.events.envelope import DEADLETTER_TOPIC, VILLAGE_CODE_PATTERN, event_type, topic_for

OUT = Path(__file__).with_name("schemas")
# Topics an agriculture extension system may consume directly (or through
# GET /agriculture/feed and webhooks, which carry the same facts with AGROVOC concepts).
EXTENSION_TOPICS = ("agriculture", "livestock")
EXTENSION_NOTE = (
    " Extension systems may consume this topic directly; the same facts are also served by "
    "GET /agriculture/feed and webhooks."
)
CONSUMER_ADVICE = (
    "Use a consumer group of your own (ext-<system>, never lumbung-aggregator or "
    "lumbung-feed), commit offsets only after the batch is stored, and treat delivery as "
    "at-least-once: deduplicate by the CloudEvents id. The key is the village code, so one "
    "village's facts arrive in order within its partition; there is no order across "
    "villages. Ignore fields and event types you do not know; a breaking change is a new "
    ".vN type."
)
ASYNCAPI = Path(__file__).with_name("asyncapi.json")


def envelope_schema(service: str, name: str, model: type[Payload]) -> dict[str, Any]:
    etype = event_type(service, name)
    data = model.model_json_schema()
    defs = data.pop("$defs", {})
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://lumbung.id/events/{etype}.json",
        "title": etype,
        "description": (model.__doc__ or f"{name} event").strip().splitlines()[0],
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "villagecode", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "minLength": 1, "maxLength": 200},
            "source": {"const": f"/lumbung/{service}"},
            "type": {"const": etype},
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": "string", "description": "pseudonymous household id"},
            "villagecode": {"type": "string", "pattern": VILLAGE_CODE_PATTERN},
            "datacontenttype": {"const": "application/json"},
            "data": data,
        },
    }
    if defs:
        schema["$defs"] = defs
    return schema


def all_schemas() -> dict[str, dict[str, Any]]:
    return {
        event_type(service, name): envelope_schema(service, name, model)
        for service, events in CATALOGUE.items()
        for name, model in events.items()
    }


def free_text_note(model: type[Payload]) -> str | None:
    """The message description warning that some fields are free text (names must not go in)."""
    fields = [n for n, f in model.model_fields.items() if f.description == FREE_TEXT]
    if not fields:
        return None
    return (
        f"{', '.join(fields)}: free text typed by extension workers or imported from their "
        "system. Operators must not use it for names, NIK or KK numbers; consumers must not "
        "rely on it being free of them. GET /agriculture/feed and webhooks leave "
        "recommendation out."
    )


def asyncapi(schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for service, events in CATALOGUE.items():
        refs = {}
        for name, model in events.items():
            etype = event_type(service, name)
            key = f"{service}.{name}"
            messages[key] = {
                "name": name,
                "title": etype,
                "contentType": "application/json",
                "payload": {"$ref": f"schemas/{etype}.json"},
                "bindings": {
                    "kafka": {
                        "bindingVersion": "0.5.0",
                        "key": {"type": "string", "pattern": VILLAGE_CODE_PATTERN},
                    }
                },
            }
            if (note := free_text_note(model)) is not None:
                messages[key]["description"] = note
            refs[name] = {"$ref": f"#/components/messages/{key}"}
        channels[service] = {
            "address": topic_for(service),
            "description": f"Facts of the {service} service, keyed by village code "
            "(one village's events stay in order)."
            + (EXTENSION_NOTE if service in EXTENSION_TOPICS else ""),
            "messages": refs,
            "bindings": {"kafka": {"bindingVersion": "0.5.0", "topic": topic_for(service)}},
        }
        operations[f"{service}Publishes"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{service}"},
            "messages": [{"$ref": f"#/channels/{service}/messages/{n}"} for n in events],
        }
        operations[f"{service}ConsumedByExtensionSystems"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{service}"},
            "summary": "Aggregator and integrating systems read this topic (own group id).",
            "description": CONSUMER_ADVICE,
            "bindings": {
                "kafka": {
                    "bindingVersion": "0.5.0",
                    "groupId": {"type": "string", "pattern": "^ext-[a-z0-9-]+$"},
                }
            },
            "messages": [{"$ref": f"#/channels/{service}/messages/{n}"} for n in events],
        }
    channels["deadletter"] = {
        "address": DEADLETTER_TOPIC,
        "description": "Messages a consumer could not decode or validate, with the reason.",
        "messages": {"deadLetter": {"$ref": "#/components/messages/deadletter"}},
    }
    messages["deadletter"] = {
        "name": "dead_letter",
        "contentType": "application/json",
        "payload": {
            "type": "object",
            "required": ["reason", "topic", "partition", "offset", "size", "value"],
            "properties": {
                "reason": {"type": "string"},
                "topic": {"type": "string"},
                "partition": {"type": "integer"},
                "offset": {"type": "integer"},
                "key": {"type": ["string", "null"]},
                "size": {"type": "integer"},
                "value": {"type": "string", "description": "the first 64 KiB, as text"},
            },
        },
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Lumbung events",
            "version": "1",
            "description": "CloudEvents 1.0 (structured JSON) published by Lumbung's services. "
            "No names, NIK, KK or phone numbers are ever in an event.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "district": {
                "host": "kafka:9092",
                "protocol": "kafka",
                "description": "the district's Kafka cluster",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[Path, str]:
    schemas = all_schemas()
    files = {OUT / f"{etype}.json": render(schema) for etype, schema in schemas.items()}
    files[ASYNCAPI] = render(asyncapi(schemas))
    return files


def main() -> int:
    OUT.mkdir(exist_ok=True)
    files = expected_files()
    for stale in set(OUT.glob("*.json")) - set(files):
        stale.unlink()
    for path, text in files.items():
        path.write_text(text)
    print(f"wrote {len(files)} files to {OUT.parent}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
