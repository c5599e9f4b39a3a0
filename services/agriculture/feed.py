"""The outbound feed: every agriculture and livestock fact, once, in one numbered sequence.

Extension systems have no push API of their own, so Lumbung offers them a cursor feed
(``GET /agriculture/feed?since=``) and webhooks built on it. Services never read each
other's stores: the feed builder is a consumer (group ``LUMBUNG_FEED_GROUP``, default
``lumbung-feed``) of the agriculture and livestock topics, and appends each fact to
``agriculture_feed``, whose document id is the fact's sequence number zero-padded, so the
store's id order is the feed's order and ``since=<seq>`` is a plain "id greater than".

Why a cursor never skips a fact and never sees one twice:

- **One number per fact.** Before appending a batch, the builder looks its event ids up
  (``event_id`` is indexed); a redelivered fact keeps the number it already has.
- **No gap can appear behind a reader.** An entry is one atomic insert that carries its
  number, its event id and the fact. The builder claims number n+1 (``put_if_absent``) only
  after entry n exists, so whenever a reader sees entry n, every smaller number is already
  visible: a fact is never committed later with a smaller number than one already read.
  A crash between two inserts leaves a prefix; the redelivered batch finds the facts it
  already appended and continues after them.
- **One builder per deployment.** Run it in one agriculture process only
  (``LUMBUNG_FEED_BUILDER=false`` in the others; the embedded app has one). Should a second
  one run anyway, a claim it loses makes it re-read the head, so order and numbers stay
  sound; only during a consumer-group rebalance could both append the same fact.

The head number is kept as a hint in ``agriculture_feed_state`` after each batch; on start
the builder probes forward from it, so a hint that lags after a crash costs one read.

Items carry the event id, type, village, household, occurred_on, when the platform recorded
it, the fact's ``data`` (events carry no names, NIK or KK numbers; free-text fields that
operators might fill with names, ``NOT_IN_FEED``, are left out) and, for facts about a
crop, its AGROVOC concept (``shared.events.vocab.agrovoc_for``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from shared.adapters.docs import encode_cursor
from shared.consumer import ConsumerWorker
from shared.events.catalogue import Payload
from shared.events.envelope import CloudEvent, topic_for
from shared.events.vocab import agrovoc_for
from shared.households import Households
from shared.ports.store import CollectionSpec, Doc, Store
from shared.runtime import Runtime

log = logging.getLogger(__name__)

FEED = "agriculture_feed"
FEED_STATE = "agriculture_feed_state"
FEED_TOPICS = (topic_for("agriculture"), topic_for("livestock"))
COLLECTIONS = (
    CollectionSpec(FEED, indexes=("event_id", "village_code", "district_code")),
    CollectionSpec(FEED_STATE),
)
SEQ_DIGITS = 12
LOOKUP_CHUNK = 500  # event ids per lookup query (SQLite variable limits, Mongo $in sizes)


def seq_id(seq: int) -> str:
    return f"{seq:0{SEQ_DIGITS}d}"


def after_seq(seq: int) -> str | None:
    """The store cursor meaning "entries after number ``seq``"."""
    return encode_cursor(seq_id(seq)) if seq > 0 else None


# Free text that may carry what people typed (names among it): kept in the agriculture
# service's own record and on the topic, never copied to the feed or posted to webhooks.
NOT_IN_FEED = frozenset({"recommendation"})


def entry_for(seq: int, envelope: CloudEvent, payload: Payload) -> Doc:
    data = payload.model_dump(mode="json", exclude_none=True, exclude=set(NOT_IN_FEED))
    crop = data.get("crop")
    return {
        "_id": seq_id(seq),
        "seq": seq,
        "event_id": envelope.id,
        "type": envelope.type,
        "village_code": envelope.villagecode,
        "district_code": envelope.villagecode[:4],
        "household_id": data.get("household_id"),
        "occurred_on": data["occurred_on"],
        "recorded_at": envelope.to_wire()["time"],
        "data": data,
        "agrovoc": agrovoc_for(crop, data.get("agrovoc")) if isinstance(crop, str) else None,
    }


class FeedBuilder:
    """The batch handler of the feed's consumer: append each new fact once, in order.

    With ``households`` (the service's copy of household -> village), a fact naming a
    household known to be registered in another village than the fact's is left out: an
    extension system of that village never sees another village's household (the write
    refuses such facts; this catches those put on the topic some other way)."""

    def __init__(self, store: Store, households: Households | None = None) -> None:
        self.store = store
        self.households = households
        self._head: int | None = None
        self.appended = 0

    def head(self) -> int:
        """The highest number in the feed (probing forward from the stored hint)."""
        if self._head is None:
            hint = self.store.get(FEED_STATE, "head")
            self._head = self._probe(int(hint["seq"]) if hint else 0)
        return self._head

    def _probe(self, seq: int) -> int:
        after = after_seq(seq)
        while True:
            page = self.store.find(FEED, {}, limit=500, after=after)
            if page.items:
                seq = int(page.items[-1]["seq"])
            if page.next_cursor is None:
                return seq
            after = page.next_cursor

    def _known(self, event_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(event_ids), LOOKUP_CHUNK):
            chunk = event_ids[i : i + LOOKUP_CHUNK]
            page = self.store.find(FEED, {"event_id": chunk}, limit=len(chunk) * 2)
            found.update(d["event_id"] for d in page.items)
        return found

    def apply(
        self, events: Sequence[tuple[CloudEvent, Payload]], *, backlog: int | None = None
    ) -> None:
        if not events:
            return
        known = self._known(list(dict.fromkeys(e.id for e, _ in events)))
        if self.households is not None:
            skipped = self.households.elsewhere(self.store, events) - known
            if skipped:
                log.warning("feed: %d facts name a household of another village", len(skipped))
            known |= skipped
        for envelope, payload in events:
            if envelope.id in known:
                continue
            self._append(envelope, payload)
            known.add(envelope.id)
        self.store.replace(FEED_STATE, {"_id": "head", "seq": self.head()})

    def _append(self, envelope: CloudEvent, payload: Payload) -> None:
        while True:
            seq = self.head() + 1
            taken = self.store.put_if_absent(FEED, entry_for(seq, envelope, payload))
            if taken is None:
                self._head = seq
                self.appended += 1
                return
            # Another builder claimed this number: follow the feed's real head and retry.
            log.warning("feed number %d was taken by another builder; re-reading the head", seq)
            self._head = self._probe(seq)

    def tick(self) -> None:
        """Nothing to do between polls."""


def feed_builder_of(runtime: Runtime, households: Households) -> FeedBuilder:
    found = runtime.extras.get("feed_builder")
    if found is None:
        found = runtime.extras["feed_builder"] = FeedBuilder(runtime.store, households)
    return found


def feed_worker(runtime: Runtime, households: Households) -> ConsumerWorker:
    settings = runtime.settings
    return ConsumerWorker(
        runtime.bus,
        settings.feed_group,
        FEED_TOPICS,
        feed_builder_of(runtime, households),
        batch=settings.consumer_batch,
        # The aggregator already dead-letters what no consumer can decode.
        publish_dead_letters=False,
    )


def feed_page(store: Store, scope: dict[str, Any], since: int, limit: int) -> dict[str, Any]:
    """Entries after ``since`` within ``scope``; ``next_cursor`` is where to continue."""
    page = store.find(FEED, scope, limit=limit, after=after_seq(since))
    items = [{k: v for k, v in d.items() if k not in ("_id", "district_code")} for d in page.items]
    last = items[-1]["seq"] if items else since
    return {"items": items, "next_cursor": str(last)}
