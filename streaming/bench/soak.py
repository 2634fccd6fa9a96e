"""``streamscore bench soak``: the fraud job for a long time at a steady share of its maximum rate.

Live traffic (event time = send time, labels a few seconds later) at ``fraction`` of the rate the
job sustains on a backlog (measured first, or given). Every ``interval_s``: the job's consumer lag
(records of its input topics not yet covered by the offsets it committed at its last checkpoint),
the event → score latency of the scores appended since, the RSS of every process of the stack,
the job's restarts and the dead letters. The goal is bounded lag and flat memory: the report fits
a line to each series over the second half of the run and states its slope.

Results: JSON and ``docs/benchmarks/<date>-soak.md`` with a PNG chart.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import numpy as np
from confluent_kafka import TopicPartition

from connectors.kafka import consumer
from fraud.simulator import SimulationParams, simulate
from schemas.validation import epoch_millis
from streaming.bench.e2e import (REPORT_DIR, bench_topics, drop_bench, max_throughput, percentiles, publish,
                                 run_job, stack_pids)
from streaming.bench.machine import machine_info
from streaming.bench.processes import ProcessSampler
from streaming.config import Config
from streaming.flink_client import FlinkRest, submit_job


def bench_soak(config: Config, minutes: float = 10, fraction: float = 0.7, max_eps: float | None = None,
               interval_s: float = 5) -> dict:
    history = simulate(SimulationParams(seed=config.fraud.simulator_seed))
    if max_eps is None:
        max_eps = max_throughput(config, history[history["TX_TIME_DAYS"] < 20], run=run_job)["events_per_s"]
    rate = fraction * max_eps
    bench = bench_topics(config)
    rest = FlinkRest(bench.flink.rest_url)
    job_id = submit_job(bench, "fraud")
    rest.wait_for_state(job_id, {"RUNNING"})
    series: list[dict] = []
    try:
        with ProcessSampler(stack_pids(bench), interval_s=interval_s) as sampler:
            scores = _ScoreWatcher(bench)
            feeder = threading.Thread(target=_feed, args=(bench, history, rate, minutes * 60), daemon=True)
            feeder.start()
            started = time.monotonic()
            while feeder.is_alive():
                time.sleep(interval_s)
                series.append({"t_s": round(time.monotonic() - started, 1), "lag": _lag(bench),
                               "latency_ms": scores.take_latencies(), "restarts": len(rest.exceptions(job_id)),
                               "rss_mb": {name: round(s[-1][1]) for name, s in sampler.samples.items() if s}})
            scores.stop()
    finally:
        rest.cancel(job_id)
        drop_bench(bench)
    result = {"benchmark": "soak", "job": "fraud", "minutes": minutes, "max_eps": round(max_eps),
              "offered_eps": round(rate), **summarise(series), "series": series, **machine_info()}
    result["report"] = str(write_report(result))
    return result


def _feed(config: Config, history, rate: float, seconds: float) -> None:
    """Live traffic for ``seconds``: the simulated history again and again, each pass under new
    transaction ids (a repeated id would be a duplicate)."""
    deadline, lap = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        remaining = int(rate * (deadline - time.monotonic()))
        frame = history.iloc[:max(remaining, 0)]
        frame = frame.assign(TRANSACTION_ID=frame["TRANSACTION_ID"] + lap * len(history))
        publish(config, frame, rate, live_delay_ms=5_000)
        lap += 1


def _lag(config: Config) -> int:
    """Records of the job's input topics beyond the offsets it committed at its last checkpoint."""
    group = f"streamscore-fraud-{config.topics.transactions.name}"
    probe = consumer(config, group, **{"isolation.level": "read_uncommitted"})
    try:
        partitions = [TopicPartition(topic.name, p) for topic in (config.topics.transactions, config.topics.fraud_labels)
                      for p in range(topic.partitions)]
        lag = 0
        for committed in probe.committed(partitions, timeout=10):
            end = probe.get_watermark_offsets(committed, timeout=10)[1]
            lag += end - max(committed.offset, 0)
        return lag
    finally:
        probe.close()


class _ScoreWatcher:
    """Reads the scores as they are appended and keeps their event → append latencies."""

    def __init__(self, config: Config):
        self._reader = consumer(config, f"soak-{uuid.uuid4()}", **{"isolation.level": "read_uncommitted"})
        self._reader.subscribe([config.topics.fraud_scores.name])
        self._latencies: list[int] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.is_set():
            for message in self._reader.consume(10_000, timeout=0.5):
                if not message.error():
                    latency = message.timestamp()[1] - epoch_millis(json.loads(message.value())["event_time"])
                    with self._lock:
                        self._latencies.append(latency)
        self._reader.close()

    def take_latencies(self) -> dict:
        with self._lock:
            taken, self._latencies = self._latencies, []
        return percentiles(np.array(taken)) | {"count": len(taken)}

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


def summarise(series: list[dict]) -> dict:
    """Lag and latency percentiles, and the slope of lag and of each process' RSS over the second
    half of the run (per minute), where a leak or a growing backlog would show."""
    half = series[len(series) // 2:]
    minutes = np.array([s["t_s"] for s in half]) / 60

    def slope(values) -> float:
        return round(float(np.polyfit(minutes, values, 1)[0]), 2) if len(half) > 2 else 0.0

    lags = np.array([s["lag"] for s in series])
    names = sorted({n for s in half for n in s["rss_mb"]})
    return {
        "lag_max": int(lags.max()) if len(lags) else 0,
        "lag_p50": int(np.median(lags)) if len(lags) else 0,
        "lag_slope_per_min": slope([s["lag"] for s in half]),
        "latency_p99_ms_max": max((s["latency_ms"]["p99"] for s in series if s["latency_ms"]["count"]), default=0),
        "scored": sum(s["latency_ms"]["count"] for s in series),
        "restarts": series[-1]["restarts"] if series else 0,
        "rss_mb_end": series[-1]["rss_mb"] if series else {},
        "rss_slope_mb_per_min": {n: slope([s["rss_mb"].get(n, 0) for s in half]) for n in names},
    }


def write_report(result: dict) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = result["series"]
    t = [s["t_s"] / 60 for s in series]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4))
    axes[0].plot(t, [s["lag"] for s in series])
    axes[0].set(title="Consumer lag (records)", xlabel="minutes")
    axes[1].plot(t, [s["latency_ms"]["p99"] for s in series], label="p99")
    axes[1].plot(t, [s["latency_ms"]["p50"] for s in series], label="p50")
    axes[1].set(title="Event → score latency per interval", xlabel="minutes", ylabel="ms", yscale="log")
    axes[1].legend()
    for name in result["rss_slope_mb_per_min"]:
        axes[2].plot(t, [s["rss_mb"].get(name) for s in series], label=name)
    axes[2].set(title="RSS per process", xlabel="minutes", ylabel="MB")
    axes[2].legend(fontsize=7)
    figure.tight_layout()
    stem = f"{result['date']}-soak"
    chart = REPORT_DIR / f"{stem}.png"
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    figure.savefig(chart, dpi=90)
    plt.close(figure)
    summary = {k: v for k, v in result.items() if k != "series"}
    lines = [f"# Soak: fraud job, {result['minutes']} minutes at {result['offered_eps']:,} events/s "
             f"({round(100 * result['offered_eps'] / result['max_eps'])}% of {result['max_eps']:,}), {result['date']}", "",
             f"Machine: {result['cpus']} cores ({result['cpu_model']}), {result['memory_gb']} GB.", "",
             f"- Consumer lag: median {result['lag_p50']:,} records, max {result['lag_max']:,}; slope over the second "
             f"half {result['lag_slope_per_min']} records/min",
             f"- Event → score p99 per {series[1]['t_s'] - series[0]['t_s'] if len(series) > 1 else '-'} s interval: "
             f"at most {result['latency_p99_ms_max']} ms; {result['scored']:,} scores",
             f"- Restarts: {result['restarts']}",
             "- RSS slope over the second half (MB/min): " + ", ".join(
                 f"{n} {v}" for n, v in result["rss_slope_mb_per_min"].items()), "",
             f"![soak]({chart.name})", "", "Reproduce: `streamscore bench soak --json`", "",
             "```json", json.dumps(summary, indent=2), "```", ""]
    path = REPORT_DIR / f"{stem}.md"
    path.write_text("\n".join(lines))
    return str(path)
