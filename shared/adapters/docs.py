"""Helpers both store adapters share: outbox layout inside a document, cursors."""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from typing import Any

from shared.ports.store import COMMANDS, OUTBOX, Doc

PENDING = "_pending"
OUTBOX_AT = "_outbox_at"
INTERNAL_FIELDS = (OUTBOX, PENDING, OUTBOX_AT)


def outbox_items(events: Sequence[Doc]) -> dict[str, dict[str, Any]]:
    """Events keyed by id, each with the time it was written, so an ack removes exactly them."""
    now = time.time()
    return {str(e["id"]): {"at": now + i * 1e-6, "event": e} for i, e in enumerate(events)}


def public(doc: Doc | None) -> Doc | None:
    if doc is None:
        return None
    return {k: v for k, v in doc.items() if k not in INTERNAL_FIELDS}


def new_doc(doc: Doc, events: Sequence[Doc], command_id: str) -> Doc:
    stored = dict(doc)
    stored[COMMANDS] = [command_id]
    if events:
        stored[OUTBOX] = outbox_items(events)
        stored[PENDING] = len(events)
        stored[OUTBOX_AT] = time.time()
    return stored


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("invalid cursor") from exc
