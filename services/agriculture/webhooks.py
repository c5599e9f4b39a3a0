"""Webhooks: each subscription receives the feed's new facts, one POST per fact, in order.

A subscription (``agriculture_webhooks``) holds its URL, the villages it covers, its signing
secret sealed with the platform's key (HMAC signing needs the secret itself, so it is
sealed, not hashed; it is shown once, when created), and its position in the feed.

Delivery (``WebhookDispatcher``, one per deployment, next to the feed builder; deploy it as a
singleton, see ``deploy/README.md``):

- a dispatcher that has something to send to a subscription first claims it: a compare-and-set
  of a fresh ``lease`` token (valid ``lease_s`` seconds), expecting the token, status and
  position it read; every later update of that round (position, failures) expects the same
  token, status and old position. Should a second dispatcher run anyway, it loses the claim or
  the next advance and stops, so it can neither send a subscription's entries concurrently nor
  move its position backwards;

- one fact per request, body = the feed item, headers ``X-Lumbung-Event-Id`` (for dedupe on
  the receiver's side: a delivery whose answer was lost is sent again), ``X-Lumbung-Seq``,
  ``X-Lumbung-Webhook`` and ``X-Lumbung-Signature: t=<unix seconds>,v1=<hex>`` where hex is
  HMAC-SHA256(secret, ``"<t>." + body``); receivers should also refuse old ``t`` values;
- in feed order per subscription: a failed delivery blocks the later ones, so a village's
  facts arrive in the order they happened to the platform;
- each round serves a subscription for a bounded count and time, subscriptions in parallel
  (``PER_ROUND``, ``ROUND_BUDGET_S``, ``WORKERS``), so a slow receiver delays only itself;
- any 2xx is success; anything else (status, timeout, refused connection) is a failure,
  retried after ``backoff * 2^(failures-1)`` seconds, capped at ``backoff_max``;
- after ``max_failures`` consecutive failures the subscription is disabled; its
  ``disabled_reason`` and ``last_error`` say why (``GET /agriculture/webhooks``), and
  ``POST /agriculture/webhooks/{id}/enable`` resumes it where it stopped.

Outbound HTTP uses ``urllib.request`` (no redirects followed, http and https only), to
public addresses only unless ``LUMBUNG_WEBHOOK_PRIVATE_TARGETS`` (``targets.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from services.agriculture.feed import FEED, after_seq
from services.agriculture.targets import GuardedHTTPHandler, GuardedHTTPSHandler
from shared.pii import PiiVault
from shared.ports.bus import BusUnavailable
from shared.ports.store import CollectionSpec, Doc, Store, StoreUnavailable
from shared.runtime import Runtime

log = logging.getLogger(__name__)

WEBHOOKS = "agriculture_webhooks"
COLLECTIONS = (CollectionSpec(WEBHOOKS, indexes=("status", "district_code")),)
SIGNATURE_HEADER = "X-Lumbung-Signature"
EVENT_ID_HEADER = "X-Lumbung-Event-Id"
# A round gives each subscription at most PER_ROUND deliveries and ROUND_BUDGET_S seconds
# (the post under way when the budget runs out finishes, up to the timeout): a subscription
# with a long backlog or a slow receiver yields, and the background loop delivers to up to
# WORKERS subscriptions at once, so one slow receiver holds one worker, not every webhook.
PER_ROUND = 100
ROUND_BUDGET_S = 2.0
WORKERS = 8


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Lumbung-Signature`` value for a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver does: recompute the HMAC and refuse stale timestamps."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str | None = None


Post = Callable[[str, bytes, dict[str, str], float], Outcome]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer, not an invitation to post elsewhere


# Public addresses only (services/agriculture/targets.py), no proxy, no redirects.
_GUARDED = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), _NoRedirect, GuardedHTTPHandler, GuardedHTTPSHandler
)
_ANY_ADDRESS = urllib.request.build_opener(_NoRedirect)


def http_post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Outcome:
    """POST to a public address (a private one is a failed delivery, with the reason)."""
    return _post(_GUARDED, url, body, headers, timeout_s)


def http_post_any_address(
    url: str, body: bytes, headers: dict[str, str], timeout_s: float
) -> Outcome:
    """POST wherever the URL points (``LUMBUNG_WEBHOOK_PRIVATE_TARGETS=true``)."""
    return _post(_ANY_ADDRESS, url, body, headers, timeout_s)


def _post(
    opener: urllib.request.OpenerDirector,
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float,
) -> Outcome:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=timeout_s) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:
        return Outcome(False, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Outcome(False, f"{type(exc).__name__}: {reason}"[:300])
    if 200 <= status < 300:
        return Outcome(True)
    return Outcome(False, f"HTTP {status}")


def feed_scope(hook: Doc) -> dict[str, Any]:
    if hook.get("district_code_scope"):
        return {"district_code": hook["district_code_scope"]}
    return {"village_code": hook["village_codes"]}


class WebhookDispatcher:
    """Delivers due subscriptions' pending feed entries; a background thread or ``run_once``."""

    def __init__(
        self,
        store: Store,
        vault: PiiVault,
        *,
        max_failures: int,
        backoff_s: float,
        backoff_max_s: float,
        timeout_s: float,
        interval_s: float = 0.5,
        round_budget_s: float = ROUND_BUDGET_S,
        workers: int = WORKERS,
        post: Post = http_post,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.vault = vault
        self.max_failures = max_failures
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.timeout_s = timeout_s
        self.interval_s = interval_s
        self.round_budget_s = round_budget_s
        self.workers = workers
        self.post = post
        self.clock = clock
        self.delivered = 0
        self.owner = uuid.uuid4().hex
        # a claim outlives the longest round: one budget, then one more post timing out
        self.lease_s = round_budget_s + 2 * timeout_s + 30
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # one round ------------------------------------------------------------------------
    def run_once(self) -> int:
        """Deliver what is due now to every active subscription, one after the other (the
        background loop does them in parallel); return deliveries made."""
        return sum(self._deliver(hook) for hook in self._due())

    def _due(self) -> list[Doc]:
        due: list[Doc] = []
        after: str | None = None
        while True:
            page = self.store.find(WEBHOOKS, {"status": "active"}, limit=100, after=after)
            now = self.clock()
            due += [h for h in page.items if h.get("next_attempt_at", 0) <= now]
            if page.next_cursor is None:
                return due
            after = page.next_cursor

    def run_until_idle(self, idle_polls: int = 2) -> int:
        total = 0
        while (n := self.run_once()) > 0:
            total += n
        return total

    def _deliver(self, hook: Doc) -> int:
        secret = self.vault.open(hook["secret_sealed"])
        if secret is None:
            self._disable(hook, "the signing secret cannot be opened (platform key changed?)")
            return 0
        entries = self.store.find(
            FEED, feed_scope(hook), limit=PER_ROUND, after=after_seq(int(hook["position"]))
        ).items
        if not entries or not self._claim(hook):
            return 0
        sent = 0
        deadline = time.monotonic() + self.round_budget_s
        for entry in entries:
            if sent and time.monotonic() >= deadline:
                return sent  # the rest next round, after the other subscriptions
            item = {k: v for k, v in entry.items() if k not in ("_id", "district_code")}
            body = json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Lumbung-Webhooks/1",
                EVENT_ID_HEADER: item["event_id"],
                "X-Lumbung-Seq": str(item["seq"]),
                "X-Lumbung-Webhook": hook["webhook_id"],
                SIGNATURE_HEADER: sign(secret, int(self.clock()), body),
            }
            outcome = self.post(hook["url"], body, headers, self.timeout_s)
            if not outcome.ok:
                self._failed(hook, outcome.error or "failed")
                return sent
            sent += 1
            self.delivered += 1
            if not self._set(
                hook,
                position=item["seq"],
                failures=0,
                delivered=int(hook.get("delivered", 0)) + 1,
                last_delivery_at=self.clock(),
                next_attempt_at=0,
            ):
                return sent  # deleted, disabled or taken over meanwhile
        return sent

    def _failed(self, hook: Doc, error: str) -> None:
        failures = int(hook.get("failures", 0)) + 1
        if failures >= self.max_failures:
            self._disable(
                hook, f"{failures} consecutive failed deliveries; last: {error}", error, failures
            )
            return
        delay = min(self.backoff_s * 2 ** (failures - 1), self.backoff_max_s)
        self._set(
            hook,
            failures=failures,
            last_error=error,
            last_failure_at=self.clock(),
            next_attempt_at=self.clock() + delay,
        )

    def _disable(
        self, hook: Doc, reason: str, error: str | None = None, failures: int | None = None
    ) -> None:
        fields: dict[str, Any] = {"status": "disabled", "disabled_reason": reason}
        if error is not None:
            fields |= {"last_error": error, "last_failure_at": self.clock()}
        if failures is not None:
            fields["failures"] = failures
        self._set(hook, **fields)
        log.warning("webhook %s disabled: %s", hook["webhook_id"], reason)

    def _claim(self, hook: Doc) -> bool:
        """Take the subscription for this round unless another dispatcher holds it."""
        now = self.clock()
        if hook.get("lease_by") not in (None, self.owner) and hook.get("lease_until", 0) > now:
            return False
        return self._set(
            hook, lease=uuid.uuid4().hex, lease_by=self.owner, lease_until=now + self.lease_s
        )

    def _set(self, hook: Doc, **fields: Any) -> bool:
        """Update the subscription as read: not deleted, disabled, advanced or claimed since."""
        outcome = self.store.update(
            WEBHOOKS,
            hook["_id"],
            set_fields=fields,
            command_id=f"dispatch-{uuid.uuid4().hex}",
            expect={
                "status": "active",
                "position": hook["position"],
                "lease": hook.get("lease"),
            },
        )
        if outcome == "applied":
            hook.update(fields)
        return outcome == "applied"

    # background ------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None

    def refresh_lag(self) -> None:
        """Nothing to report: deliveries are counted in ``delivered``."""

    def _loop(self) -> None:
        running: dict[str, Future[int]] = {}
        with ThreadPoolExecutor(self.workers, thread_name_prefix="webhook") as pool:
            while not self._stop.is_set():
                busy = self._collect(running)
                try:
                    for hook in self._due():
                        if hook["_id"] not in running:
                            running[hook["_id"]] = pool.submit(self._deliver, hook)
                except (StoreUnavailable, BusUnavailable) as exc:
                    log.warning("webhooks: %s; retrying", exc)
                except Exception:
                    log.exception("webhook round failed; retrying")
                if not busy:
                    self._wake.wait(self.interval_s)
                    self._wake.clear()
            for future in running.values():
                future.cancel()

    @staticmethod
    def _collect(running: dict[str, Future[int]]) -> bool:
        """Forget finished deliveries; whether any of them sent something."""
        busy = False
        for hook_id, future in list(running.items()):
            if not future.done():
                continue
            del running[hook_id]
            try:
                busy = future.result() > 0 or busy
            except (StoreUnavailable, BusUnavailable) as exc:
                log.warning("webhooks: %s; retrying", exc)
            except Exception:
                log.exception("webhook delivery failed; retrying")
        return busy


def dispatcher_of(runtime: Runtime) -> WebhookDispatcher:
    found = runtime.extras.get("webhook_dispatcher")
    if found is None:
        settings = runtime.settings
        found = runtime.extras["webhook_dispatcher"] = WebhookDispatcher(
            runtime.store,
            PiiVault(settings.pii_key),
            max_failures=settings.webhook_max_failures,
            backoff_s=settings.webhook_backoff_s,
            backoff_max_s=settings.webhook_backoff_max_s,
            timeout_s=settings.webhook_timeout_s,
            post=http_post_any_address if settings.webhook_private_targets else http_post,
        )
    return found
