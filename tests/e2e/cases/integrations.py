"""Integrations: webhook subscriptions (writes that emit no event) and a village's IDM."""

from __future__ import annotations

from tests.e2e.routecases import MISSING, WriteCase, create

V = "3204052001"
HOOK = {"url": "https://penyuluh.example.id/lumbung", "village_codes": [V]}


def _webhook(client, headers) -> dict[str, str]:
    hook = create(client, headers, "/agriculture/webhooks", HOOK)
    return {"webhook_id": hook["webhook_id"]}


CASES = [
    WriteCase(
        name="agriculture subscribe webhook",
        method="POST",
        path="/agriculture/webhooks",
        body={**HOOK, "description": "Sistem penyuluhan kabupaten"},
        event_type=None,
        id_field="webhook_id",
        bad=[
            ("url", "ftp://example.org/feed"),
            ("url", "not a url"),
            ("url", MISSING),
            ("village_codes", ["3204x52001"]),
        ],
    ),
    WriteCase(
        name="agriculture delete webhook",
        method="DELETE",
        path="/agriculture/webhooks/{webhook_id}",
        body={},
        event_type=None,
        setup=_webhook,
        id_field="webhook_id",
        status=200,
        bad=[],
    ),
    WriteCase(
        name="agriculture enable webhook",
        method="POST",
        path="/agriculture/webhooks/{webhook_id}/enable",
        body={},
        event_type=None,
        setup=_webhook,
        id_field="webhook_id",
        status=200,
        bad=[],
    ),
]

IDM_BODY = {
    "year": 2024,
    "iks": 0.84,
    "ike": 0.65,
    "ikl": 0.666667,
    "score": 0.718889,
    "status": "maju",
    "target_status": "mandiri",
    "indicators": 50,
}
CASES.append(
    WriteCase(
        name="registry record idm",
        method="POST",
        path="/registry/villages/{village_code}/idm",
        body=IDM_BODY,
        setup=lambda _client, _headers: {"village_code": V},
        event_type="lumbung.registry.idm_recorded.v1",
        bad=[
            ("score", 0.9),
            ("year", 2014),
            ("status", "bagus"),
            ("iks", 1.5),
            ("ike", MISSING),
        ],
        data_expect={"year": 2024, "ike": 0.65, "village_code": V},
    )
)
