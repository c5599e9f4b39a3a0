"""`python -m bench.run [--quick]`: run every figure, print one table, write RESULTS.md.

Needs the real Kafka and FerretDB (LUMBUNG_TEST_KAFKA_BOOTSTRAP, LUMBUNG_TEST_MONGO_URL),
which `bench/run.sh` (``make bench``) starts and stops with its own state directories.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bench import figures
from bench.common import ROOT, machine, median, say
from bench.data import Dataset, build, events_in
from shared.runtime import tune_gc


@dataclass(frozen=True)
class Plan:
    reps: int
    replay: Dataset  # figure 4 (also a point of figure 6 and the base of figure 5)
    read_small: Dataset
    read_large: Dataset
    aggregate: Dataset
    publish_events: int
    ingest_households: int
    ingest_requests: int
    ingest_seconds: float
    naive_seconds: float
    mongo_seconds: float
    fresh_seconds: float
    fresh_rate: float
    read_requests: int
    read_seconds: float


FULL = Plan(
    reps=3,
    replay=Dataset(150_000, 300, date(2024, 1, 31), target=1_000_000),
    read_small=Dataset(150_000, 300, date(2023, 11, 30), target=500_000),
    read_large=Dataset(150_000, 300, date(2025, 6, 30), target=2_000_000),
    aggregate=Dataset(10_000, 20, date(2026, 6, 30)),
    publish_events=2_000,
    ingest_households=400,
    ingest_requests=4_000,
    ingest_seconds=15,
    naive_seconds=15,
    mongo_seconds=20,
    fresh_seconds=40,
    fresh_rate=200,
    read_requests=3_000,
    read_seconds=40,
)
QUICK = Plan(
    reps=1,
    replay=Dataset(2_000, 4, date(2023, 12, 31), target=13_000),
    read_small=Dataset(2_000, 4, date(2023, 11, 30), target=6_000),
    read_large=Dataset(2_000, 4, date(2025, 6, 30), target=24_000),
    aggregate=Dataset(500, 2, date(2026, 6, 30)),
    publish_events=300,
    ingest_households=40,
    ingest_requests=400,
    ingest_seconds=3,
    naive_seconds=2,
    mongo_seconds=0,
    fresh_seconds=5,
    fresh_rate=200,
    read_requests=200,
    read_seconds=5,
)


def _med(results: list[dict], *path: str) -> float:
    values = []
    for r in results:
        for key in path:
            r = r[key]
        values.append(float(r))  # type: ignore[arg-type]
    return median(values)


def _spread(results: list[dict], *path: str) -> str:
    values = []
    for r in results:
        for key in path:
            r = r[key]
        values.append(float(r))  # type: ignore[arg-type]
    return f"{min(values):,.0f}-{max(values):,.0f}" if len(values) > 1 else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small smoke run (< 1 minute)")
    parser.add_argument("--reps", type=int, help="repetitions (default: 3, quick: 1)")
    parser.add_argument("--only", help="comma list: ingest,publish,aggregate,replay,read,fresh")
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write the table (default: bench/RESULTS.md, quick: the work directory)",
    )
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    reps = args.reps or plan.reps
    only = set(args.only.split(",")) if args.only else None
    base = Path(os.environ.get("LUMBUNG_BENCH_DIR", "/tmp/lumbung-bench"))
    cache, work = base / "cache", base / ("work-quick" if args.quick else "work")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = figures.Env(
        kafka=os.environ["LUMBUNG_TEST_KAFKA_BOOTSTRAP"],
        mongo=os.environ["LUMBUNG_TEST_MONGO_URL"],
        work=work,
    )
    facts = machine()
    # The aggregate figure runs the consumer in this process: tune the collector as the
    # aggregator's own process does (`services.main.serve`); the raw baseline gets it too.
    tune_gc()
    started = time.monotonic()
    say(f"{'quick' if args.quick else 'full'} run, {reps} repetition(s); work dir {work}")
    R: dict[str, Any] = {}

    def want(name: str) -> bool:
        (work / "raw.json").write_text(json.dumps(R, indent=1, default=str))  # keep partials
        return only is None or name in only

    if want("aggregate"):
        say("3. aggregate: producing the history into Kafka")
        bus_file = build(plan.aggregate, cache)
        R["history"] = figures.produce_history(env, bus_file)
        say(
            f"  produced {R['history']['events']:,} events "
            f"({R['history']['raw_produce_rate']:,.0f} ev/s raw producer)"
        )
        R["aggregate"] = []
        for rep in range(reps):
            R["aggregate"].append(
                figures.aggregate(
                    env,
                    rep,
                    expected=R["history"]["events"],
                    naive_seconds=plan.naive_seconds,
                    mongo_seconds=plan.mongo_seconds,
                )
            )
    if want("publish"):
        say("2. publish: outbox (FerretDB) -> Kafka")
        bus_file = build(plan.aggregate, cache)
        R["publish"] = []
        for rep in range(reps):
            r = figures.publish(env, rep, bus_file=bus_file, events=plan.publish_events)
            say(f"  rep {rep}: relay {r['relay_rate']:,.0f} ev/s, raw {r['raw_rate']:,.0f} ev/s")
            R["publish"].append(r)
    if want("ingest"):
        say("1. ingest: HTTP writes")
        R["ingest"] = []
        for rep in range(reps):
            r = figures.ingest(
                env,
                rep,
                households=plan.ingest_households,
                requests=plan.ingest_requests,
                seconds=plan.ingest_seconds,
            )
            say(
                f"  rep {rep}: bare {r['bare']['rate']:,.0f}/s, embedded "
                f"{r['embedded']['rate']:,.0f}/s, commerce {r['commerce']['rate']:,.0f}/s"
            )
            R["ingest"].append(r)
    replay_dir = work / "replay"
    if want("replay") or want("read") or want("fresh"):
        say(f"4. replay: dataset {plan.replay.key}")
        bus_file = build(plan.replay, cache)
        R["replay_events"] = events_in(bus_file)
        R["replay"] = []
        for rep in range(reps if want("replay") else 1):
            figures.replayed_copy(bus_file, replay_dir)
            r = figures.replay(replay_dir, mark_live=True)
            say(
                f"  rep {rep}: {r['events']:,} events in {r['seconds']:.1f}s = "
                f"{r['rate']:,.0f} ev/s (fold {r['fold_seconds']:.1f} s, views "
                f"{r['views_seconds']:.1f} s), peak RSS {r['peak_rss_mb']:.0f} MB, "
                f"{r['peak_tree_rss_mb']:.0f} MB with the view workers"
            )
            R["replay"].append(r)
    if want("read"):
        # Replay every history first, then serve them all at once and measure them in
        # alternating blocks, so a change in the machine's load falls on all histories alike.
        R["read"] = {}
        histories: dict[str, Path] = {}
        for label, ds in (
            ("small", plan.read_small),
            ("mid", plan.replay),
            ("large", plan.read_large),
        ):
            if label == "mid":
                histories[label] = replay_dir
            else:
                data_dir = figures.replayed_copy(build(ds, cache), work / f"read-{label}")
                r = figures.replay(data_dir, mark_live=True)
                say(
                    f"  read history {label}: replayed {r['events']:,} events "
                    f"({r['rate']:,.0f} ev/s, peak {r['peak_rss_mb']:.0f} MB)"
                )
                R[f"replay_{label}"] = r
                histories[label] = data_dir
            R["read"][label] = {"events": events_in(histories[label] / "bus.sqlite3"), "runs": []}
        for rep in range(reps):
            got = figures.read(
                env, data_dirs=histories, requests=plan.read_requests, seconds=plan.read_seconds
            )
            for label, r in got.items():
                say(f"  read {label} rep {rep}: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms")
                R["read"][label]["runs"].append(r)
        for label, data_dir in histories.items():
            if label != "mid":
                shutil.rmtree(data_dir, ignore_errors=True)
    if want("fresh"):
        say(f"5. freshness at {plan.fresh_rate:.0f} writes/s")
        R["fresh"] = []
        for rep in range(reps):
            r = figures.freshness(
                env,
                rep,
                data_dir=replay_dir,
                rate=plan.fresh_rate,
                seconds=plan.fresh_seconds,
                households=2000,
                villages=plan.replay.villages,
            )
            say(
                f"  rep {rep}: {r['rate']:.0f} writes/s, visible p50 {r['probe_p50_ms']:.0f} ms, "
                f"p99 {r['probe_p99_ms']:.0f} ms ({r['probe_n']} probes)"
            )
            R["fresh"].append(r)
    elapsed = time.monotonic() - started
    (work / "raw.json").write_text(json.dumps(R, indent=1, default=str))
    table = render(R, plan, reps, facts, elapsed, quick=args.quick)
    print(table)
    out = args.out or (work / "RESULTS.md" if args.quick else ROOT / "bench" / "RESULTS.md")
    out.write_text(table)
    say(f"wrote {out} (raw figures: {work / 'raw.json'}) in {elapsed:.0f}s")
    return 0


def _ok(met: bool) -> str:
    return "**met**" if met else "**missed**"


def render(
    R: dict[str, Any], plan: Plan, reps: int, facts: dict[str, str], elapsed: float, *, quick: bool
) -> str:
    rows: list[tuple[str, str, str, str, str]] = []
    if "ingest" in R:
        runs = R["ingest"]
        for key, bare, what in (
            ("embedded", "bare", "embedded platform, SQLite + in-process bus"),
            ("commerce", "bare_commerce", "commerce service, FerretDB + Kafka relay"),
        ):
            rate, bare_rate = _med(runs, key, "rate"), _med(runs, bare, "rate")
            ratio = median([r[key]["rate"] / r[bare]["rate"] for r in runs])
            rows.append(
                (
                    f"1. Ingest: {what}",
                    f"{rate:,.0f} writes/s; p50 {_med(runs, key, 'p50_ms'):.1f} ms, "
                    f"p99 {_med(runs, key, 'p99_ms'):.1f} ms",
                    f"bare FastAPI route: {bare_rate:,.0f} req/s; p50 "
                    f"{_med(runs, bare, 'p50_ms'):.1f} ms, p99 {_med(runs, bare, 'p99_ms'):.1f} ms",
                    f"{ratio:.2f}x",
                    f"≥ 0.25x: {_ok(ratio >= 0.25)}",
                )
            )
        if all("embedded_health" in r and "cpu_ms" in r["bare"] for r in runs):
            ratio = median([r["embedded_health"]["rate"] / r["bare"]["rate"] for r in runs])
            rows.append(
                (
                    "1. Ingest, where the time goes: the embedded platform's own `GET /healthz` "
                    "(no auth, no body, no write), same process and client",
                    f"{_med(runs, 'embedded_health', 'rate'):,.0f} req/s; server CPU "
                    f"{_med(runs, 'embedded_health', 'cpu_ms'):.2f} ms a request (a write: "
                    f"{_med(runs, 'embedded', 'cpu_ms'):.2f} ms)",
                    f"bare FastAPI route: server CPU {_med(runs, 'bare', 'cpu_ms'):.2f} ms a "
                    "request",
                    f"{ratio:.2f}x",
                    "(context for the rows above)",
                )
            )
    if "publish" in R:
        runs = R["publish"]
        ratio = median([r["relay_rate"] / r["raw_rate"] for r in runs])
        rows.append(
            (
                f"2. Publish: outbox (FerretDB) → Kafka, OutboxRelay, {runs[0]['events']:,} events",
                f"{_med(runs, 'relay_rate'):,.0f} events/s (KafkaBus.publish alone: "
                f"{_med(runs, 'adapter_rate'):,.0f} events/s)",
                f"raw kafka-python producer, same payloads: {_med(runs, 'raw_rate'):,.0f} events/s",
                f"{ratio:.2f}x",
                "(no target)",
            )
        )
    if "aggregate" in R:
        runs = R["aggregate"]
        n = runs[0]["events"]
        ratio_raw = median([r["real_rate"] / r["raw_rate"] for r in runs])
        ratio_naive = median([r["real_rate"] / r["naive_rate"] for r in runs])
        rows.append(
            (
                f"3. Aggregate: Kafka → read model (SQLite), ConsumerWorker + Projector, "
                f"{n:,} events incl. the view rebuild",
                f"{_med(runs, 'real_rate'):,.0f} events/s",
                f"raw kafka-python consumer (json.loads only): "
                f"{_med(runs, 'raw_rate'):,.0f} events/s",
                f"{ratio_raw:.2f}x",
                f"≥ 0.5x: {_ok(ratio_raw >= 0.5)}",
            )
        )
        rows.append(
            (
                "3. Aggregate vs naive projector (same consumer, SQLite)",
                f"{_med(runs, 'real_rate'):,.0f} events/s",
                f"naive (get + replace per event, {plan.naive_seconds:.0f} s bound): "
                f"{_med(runs, 'naive_rate'):,.0f} events/s",
                f"{ratio_naive:.1f}x",
                f"≥ 10x: {_ok(ratio_naive >= 10)}",
            )
        )
        if "mongo_real_rate" in runs[0]:
            ratio_m = median([r["mongo_real_rate"] / r["mongo_naive_rate"] for r in runs])
            mongo_vs_raw = _med(runs, "mongo_real_rate") / _med(runs, "raw_rate")
            rows.append(
                (
                    f"3. Aggregate: Kafka → read model (FerretDB), "
                    f"first {plan.mongo_seconds:.0f} s",
                    f"{_med(runs, 'mongo_real_rate'):,.0f} events/s "
                    f"(over {_med(runs, 'mongo_real_events'):,.0f} events)",
                    f"naive on FerretDB: {_med(runs, 'mongo_naive_rate'):,.0f} events/s",
                    f"{ratio_m:.1f}x vs naive; "
                    f"{_med(runs, 'mongo_real_rate') / _med(runs, 'raw_rate'):.2f}x vs raw",
                    f"≥ 0.5x raw: {_ok(mongo_vs_raw >= 0.5)}; ≥ 10x naive: {_ok(ratio_m >= 10)}",
                )
            )
    if R.get("replay") and len(R["replay"]) >= 1 and ("read" in R or len(R["replay"]) == reps):
        runs = R["replay"]
        rate = _med(runs, "rate")
        own = max(r["peak_rss_mb"] for r in runs)
        # with the worker processes that build the views at the end (sum over the tree)
        mem = max(own, *(r.get("peak_tree_rss_mb", 0.0) for r in runs))
        ds = plan.replay
        rows.append(
            (
                f"4. Replay (embedded: in-process bus log + SQLite), "
                f"{R['replay_events']:,} events, "
                f"{ds.households:,} households, {ds.villages} villages",
                f"{_med(runs, 'seconds'):.1f} s = {rate:,.0f} events/s (fold "
                f"{_med(runs, 'fold_seconds'):.1f} s, views {_med(runs, 'views_seconds'):.1f} s; "
                f"CPU of the main process {_med(runs, 'cpu_seconds'):.1f} s); peak RSS "
                f"{own:.0f} MB, {mem:.0f} MB with the view workers",
                "",
                "",
                f"≥ 20,000 events/s: {_ok(rate >= 20_000)}; ≤ 500 MB: {_ok(mem <= 500)}",
            )
        )
    if "fresh" in R:
        runs = R["fresh"]
        p99 = _med(runs, "probe_p99_ms")
        rows.append(
            (
                f"5. Freshness at {plan.fresh_rate:.0f} writes/s (embedded platform over the "
                f"replayed district; village view of a probe village)",
                f"2xx → visible: p50 {_med(runs, 'probe_p50_ms'):.0f} ms, p99 {p99:.0f} ms "
                f"(max {_med(runs, 'probe_max_ms'):.0f} ms; {sum(r['probe_n'] for r in runs)} "
                f"probes, polled every 20 ms)",
                f"achieved {_med(runs, 'rate'):.0f} writes/s, "
                f"{sum(r['requests'] - r['ok'] for r in runs)} non-2xx",
                "",
                f"p99 ≤ 1 s: {_ok(p99 <= 1000)}",
            )
        )
    if "read" in R:
        read = R["read"]
        for label in ("small", "mid", "large"):
            runs = read[label]["runs"]
            rows.append(
                (
                    f"6. Read: district view, {plan.replay.villages} villages, "
                    f"{plan.replay.households:,} households, {read[label]['events']:,} events",
                    f"p50 {_med(runs, 'p50_ms'):.2f} ms, p99 {_med(runs, 'p99_ms'):.2f} ms",
                    f"{_med(runs, 'requests'):,.0f} requests, 1 connection",
                    "",
                    f"p99 ≤ 50 ms: {_ok(_med(runs, 'p99_ms') <= 50)}",
                )
            )
        big, small = read["large"]["runs"], read["small"]["runs"]
        # paired: the two histories of one repetition were measured one after the other
        p99s = [b["p99_ms"] / a["p99_ms"] for a, b in zip(small, big, strict=True)]
        p50s = [b["p50_ms"] / a["p50_ms"] for a, b in zip(small, big, strict=True)]
        r99, r50 = median(p99s), median(p50s)
        rows.append(
            (
                "6. Read: flat as history grows (median of the paired ratios)",
                f"p99 ratio {r99:.2f} ({', '.join(f'{x:.2f}' for x in p99s)}), p50 ratio {r50:.2f}",
                f"{read['large']['events']:,} vs {read['small']['events']:,} events",
                "",
                f"p99 ratio ≤ 1.2: {_ok(r99 <= 1.2)}",
            )
        )
    lines = [
        "# Lumbung benchmarks" + (" (quick smoke run: figures not meaningful)" if quick else ""),
        "",
        f"Run {datetime.now().isoformat(timespec='seconds')} in {elapsed / 60:.1f} min; "
        f"medians over {reps} repetition(s).",
        "Reproduce: `make bench` (= `bash bench/run.sh`; `bash bench/run.sh --quick` for the smoke "
        "run). The machine is shared and noisy: read ratios and medians, not single numbers.",
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in facts.items()],
        "",
        "| figure | measured | compared with (same run) | ratio | target |",
        "|---|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in rows],
        "",
    ]
    findings = ROOT / "bench" / "FINDINGS.md"
    if findings.exists() and not quick:
        lines += [findings.read_text()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
