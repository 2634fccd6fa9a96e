"""``streamscore bench chaos``: live traffic through repeated crashes, and what a reader then sees.

The fraud job takes live transactions (event time = send time, labels 5 s later) at ``fraction``
of the rate it sustains on a backlog (measured first, or given), for ``minutes``. Every 60 to 90 s
(seeded) the TaskManager or one of its Python workers is SIGKILLed; the stack starts a new
TaskManager and the job recovers from its last checkpoint. The producer keeps sending throughout.
Recorded: each fault, the time until every task of the job runs again, the consumer lag every 2 s.
At the end, every transaction sent must have exactly one committed score, and ``dead-letter`` must
be empty (no valid event late).

Results: JSON and ``docs/benchmarks/<date>-chaos.md`` with a PNG of the lag over time.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter

import numpy as np
import orjson

from connectors.kafka import read_topic
from fraud.events import fraud_events
from fraud.simulator import SimulationParams, simulate
from streaming.background import Background
from streaming.bench.e2e import (REPORT_DIR, bench_topics, drop_bench, flush_event_time, live_chunk_size,
                                 max_throughput, run_job, send_when_due)
from streaming.bench.machine import machine_info
from streaming.bench.soak import ConsumerLag
from streaming.config import Config
from streaming.errors import ServiceUnavailable
from streaming.flink_client import FlinkRest, submit_job
from streaming.producers import Publisher
from streaming.stack.faults import kill_python_worker, kill_taskmanager, lose_taskmanager_for_15_s

LABEL_DELAY_MS = 5_000
FAULTS = {"taskmanager": kill_taskmanager, "python-worker": kill_python_worker}


def bench_chaos(config: Config, minutes: float = 10, fraction: float = 0.5, max_eps: float | None = None,
                seed: int = 29, gap_s: tuple[float, float] = (60, 90), interval_s: float = 2) -> dict:
    if max_eps is None:
        recent = simulate(SimulationParams(seed=config.fraud.simulator_seed, days=20))
        max_eps = max_throughput(config, recent, run=run_job)["events_per_s"]
    rate = fraction * max_eps
    count = int(rate * minutes * 60)
    # The simulator makes about 9,500 transactions a day at the handbook's parameters.
    frame = simulate(SimulationParams(seed=config.fraud.simulator_seed, days=int(count / 9_000) + 2)).iloc[:count]
    frame = frame.assign(TRANSACTION_ID=np.arange(len(frame)))
    bench = bench_topics(config)
    rest = FlinkRest(bench.flink.rest_url)
    job_id = submit_job(bench, "fraud")
    rest.wait_until_running(job_id)
    faults, series = [], []
    try:
        lag = ConsumerLag(bench)
        feeder = _LiveFeed(bench, frame, rate)
        started = time.monotonic()
        rng = random.Random(seed)
        next_fault = started + rng.uniform(*gap_s)
        while feeder.is_alive():
            time.sleep(interval_s)
            series.append({"t_s": round(time.monotonic() - started, 1), "lag": lag()})
            if time.monotonic() >= next_fault:
                kind = rng.choice(sorted(FAULTS))
                began = time.monotonic()
                job_id = FAULTS[kind](bench, job_id)
                try:
                    rest.wait_until_running(job_id, timeout_s=300)
                    recovery_s = round(time.monotonic() - began, 1)
                except ServiceUnavailable:
                    recovery_s = None  # not back within 5 minutes: reported, and the outcome shows the cost
                faults.append({"at_s": round(began - started, 1), "kind": kind, "recovery_s": recovery_s})
                next_fault = time.monotonic() + rng.uniform(*gap_s)
        last_ms = feeder.result()
        lag.close()
        flush_event_time(bench, last_ms + 86_400_000, labels=True)
        outcome = _outcome(bench, len(frame), timeout_s=600)
    finally:
        rest.cancel(job_id)
        drop_bench(bench)
    result = {"benchmark": "chaos", "job": "fraud", "minutes": minutes, "max_eps": round(max_eps),
              "offered_eps": round(rate), "transactions": len(frame), "faults_injected": len(faults),
              "recoveries": sum(1 for f in faults if f["recovery_s"] is not None),
              "max_recovery_s": max((f["recovery_s"] for f in faults if f["recovery_s"] is not None), default=0),
              **outcome,
              "lag_max": max((s["lag"] for s in series), default=0), "faults": faults, "series": series,
              "seed": seed, **machine_info()}
    result["report"] = write_report(result)
    return result


def bench_idle_restart(config: Config, runs: int = 20, idle_s: float | None = None, rate: float = 2_500,
                       count: int = 50_000, kill_after_s: float = 10, history_tx: int = 20_000) -> dict:
    """Issue 29's reproduction, ``runs`` times: a fraud job scores simulated history, every partition
    then sits idle (``idle_s``, default the idle timeout plus 15 s), live traffic starts (``count``
    transactions at ``rate``, event time = send time) and the TaskManager is SIGKILLed
    ``kill_after_s`` into it while the producer keeps sending, its replacement starting 15 s later
    (the issue's user ran ``stack up`` once the producer was done). Each run must score every live
    transaction once, with no late dead letter."""
    idle_s = idle_s if idle_s is not None else config.flink.idle_partition_timeout_ms / 1000 + 15
    simulated = simulate(SimulationParams(seed=config.fraud.simulator_seed, days=int((history_tx + count) / 9_000) + 2))
    history, live = simulated.iloc[:history_tx], simulated.iloc[history_tx:history_tx + count]
    results = []
    for _ in range(runs):
        bench = bench_topics(config)
        rest = FlinkRest(bench.flink.rest_url)
        job_id = submit_job(bench, "fraud")
        try:
            rest.wait_until_running(job_id)
            send_history(bench, history)
            time.sleep(idle_s)
            feeder = _LiveFeed(bench, live, rate)
            time.sleep(kill_after_s)
            job_id = lose_taskmanager_for_15_s(bench, job_id)
            last_ms = feeder.result()
            flush_event_time(bench, last_ms + 86_400_000, labels=True)
            outcome = _outcome(bench, len(history) + len(live), timeout_s=300)
        finally:
            rest.cancel(job_id)
            drop_bench(bench)
        results.append(outcome)
    clean = [r for r in results if r["lost"] == 0 and r["duplicates"] == 0 and r["late_dead_letters"] == 0]
    return {"benchmark": "idle-restart", "job": "fraud", "runs": runs, "clean_runs": len(clean),
            "idle_s": idle_s, "rate_eps": rate, "live_transactions": count, "history_transactions": history_tx,
            "idle_partition_timeout_ms": config.flink.idle_partition_timeout_ms, "results": results, **machine_info()}


def send_history(config: Config, frame) -> None:
    """``frame`` with its own (simulated) event times, as fast as the broker takes it, labels 7 days on."""
    with Publisher(config, progress=False) as out:
        for chunk in fraud_events(frame, 7 * 86_400_000, config.topics):
            out.send(chunk)


class _LiveFeed(Background):
    """Sends ``frame`` live at ``rate`` in a thread, encoding each chunk only when it is due (a
    10-minute run holds millions of events); ``result()`` is the last event time, in ms."""

    def __init__(self, config: Config, frame, rate: float):
        start_ms = int((time.time() + 2) * 1000)
        self.times = start_ms + (np.arange(len(frame)) * 1000 / rate).astype(np.int64)
        super().__init__(self._send, config, frame, rate)

    def _send(self, config: Config, frame, rate: float) -> int:
        with Publisher(config, rate=rate, progress=False, counted_topic=config.topics.transactions.name) as out:
            send_when_due(out, fraud_events(frame, LABEL_DELAY_MS, config.topics,
                                            chunk_size=live_chunk_size(rate), tx_times_ms=self.times))
        if out.failed:
            raise RuntimeError(f"{out.failed} events were not delivered: {out.first_error}")
        return int(self.times[-1])


def _outcome(config: Config, sent: int, timeout_s: float) -> dict:
    """What a read_committed reader sees once every transaction sent has a score (or the timeout)."""
    deadline = time.monotonic() + timeout_s
    ids: Counter = Counter()
    while True:
        ids = Counter(orjson.loads(m.value())["transaction_id"]
                      for m in read_topic(config, config.topics.fraud_scores.name, idle_timeout_s=3))
        ids = Counter({tx: n for tx, n in ids.items() if not tx.startswith("sentinel")})
        if len(ids) >= sent or time.monotonic() > deadline:
            break
        time.sleep(10)
    letters = [orjson.loads(m.value()) for m in read_topic(config, config.topics.dead_letter.name, idle_timeout_s=3)]
    reasons = Counter(letter["error"].split(":")[0] for letter in letters)
    return {"scored": len(ids), "duplicates": sum(n - 1 for n in ids.values()),
            "lost": sent - len(ids), "late_dead_letters": reasons.get("late_event", 0),
            "dead_letters": dict(reasons)}


def write_report(result: dict) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = result["series"]
    figure, axis = plt.subplots(figsize=(12, 4))
    axis.plot([s["t_s"] / 60 for s in series], [s["lag"] for s in series], label="consumer lag")
    for fault in result["faults"]:
        axis.axvline(fault["at_s"] / 60, color="red" if fault["kind"] == "taskmanager" else "orange",
                     linestyle=":", linewidth=1)
    axis.set(title=f"Consumer lag under SIGKILLs (red: TaskManager, orange: Python worker), "
                   f"{result['offered_eps']:,} events/s", xlabel="minutes", ylabel="records")
    figure.tight_layout()
    stem = f"{result['date']}-chaos"
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    chart = REPORT_DIR / f"{stem}.png"
    figure.savefig(chart, dpi=90)
    plt.close(figure)
    summary = {k: v for k, v in result.items() if k != "series"}
    lines = [f"# Chaos: fraud job, {result['minutes']} minutes of live traffic at {result['offered_eps']:,} "
             f"events/s ({round(100 * result['offered_eps'] / result['max_eps'])}% of {result['max_eps']:,}), "
             f"{result['date']}", "",
             f"Machine: {result['cpus']} cores ({result['cpu_model']}), {result['memory_gb']} GB.", "",
             f"- Faults injected: {result['faults_injected']} (SIGKILL of the TaskManager or a Python worker, every "
             f"60-90 s, seed {result['seed']}); recoveries: {result['recoveries']}; longest recovery (fault to every "
             f"task running again): {result['max_recovery_s']} s",
             f"- Transactions sent: {result['transactions']:,}; scored (committed, read_committed): "
             f"{result['scored']:,}; lost: {result['lost']:,}; duplicates: {result['duplicates']:,}",
             f"- Dead letters: {result['dead_letters'] or 'none'}; late: {result['late_dead_letters']}",
             f"- Consumer lag: at most {result['lag_max']:,} records", "",
             "| fault | at (s) | kind | recovery (s) |", "| --- | --- | --- | --- |",
             *[f"| {i + 1} | {f['at_s']} | {f['kind']} | {f['recovery_s']} |" for i, f in enumerate(result["faults"])],
             "", f"![lag]({chart.name})", "", "Reproduce: `streamscore bench chaos --json`", "",
             "```json", json.dumps(summary, indent=2), "```", ""]
    path = REPORT_DIR / f"{stem}.md"
    path.write_text("\n".join(lines))
    return str(path)
