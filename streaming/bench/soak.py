"""``streamscore bench soak``: the fraud job for a long time at a steady share of its maximum rate.

The simulated history is replayed with its own event times (labels 7 days after their
transactions) at ``fraction`` of the rate the job sustains on a backlog (measured first, or
given): windows and keyed state then hold what they would in production, and event time moves
about 20 days a minute, so state is pruned as it would be. (Live timestamps would squeeze months of
a card's history into minutes and grow every window without bound.) Every ``interval_s``: the
job's consumer lag (records of its input topics beyond the offsets it committed at its last
checkpoint), the scores appended since, the RSS of every process of the stack, the size of the
job's latest checkpoint (its keyed state: heap state is checkpointed whole), and the job's
restarts. The goal is bounded lag, flat memory and state bounded by the feature horizon: the
report fits a line to each series over the second half of the run and states its slope. The
history is simulated for as many days as the run needs, so event time keeps moving.

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
from streaming.bench.e2e import (REPORT_DIR, bench_topics, drop_bench, max_throughput, publish,
                                 run_job, stack_pids)
from streaming.bench.machine import machine_info
from streaming.bench.processes import ProcessSampler
from streaming.config import Config
from streaming.flink_client import FlinkRest, submit_job


def bench_soak(config: Config, minutes: float = 10, fraction: float = 0.7, max_eps: float | None = None,
               interval_s: float = 5) -> dict:
    if max_eps is None:
        recent = simulate(SimulationParams(seed=config.fraud.simulator_seed, days=20))
        max_eps = max_throughput(config, recent, run=run_job)["events_per_s"]
    rate = fraction * max_eps
    # The simulator makes about 9,500 transactions a day at the handbook's parameters.
    days = max(183, int(rate * minutes * 60 / 9_000) + 1)
    history = simulate(SimulationParams(seed=config.fraud.simulator_seed, days=days))
    bench = bench_topics(config)
    rest = FlinkRest(bench.flink.rest_url)
    job_id = submit_job(bench, "fraud")
    rest.wait_until_running(job_id)
    series: list[dict] = []
    try:
        with ProcessSampler(stack_pids(bench), interval_s=interval_s) as sampler:
            scores, lag = _ScoreCounter(bench), ConsumerLag(bench)
            replay = history.iloc[:int(rate * minutes * 60)]
            feeder = threading.Thread(target=publish, args=(bench, replay, rate), daemon=True)
            feeder.start()
            started = time.monotonic()
            while feeder.is_alive():
                time.sleep(interval_s)
                checkpoint = rest.latest_checkpoint(job_id) or {}
                series.append({"t_s": round(time.monotonic() - started, 1), "lag": lag(),
                               "scored": scores.take(), "restarts": len(rest.exceptions(job_id)),
                               "checkpoint_mb": round(checkpoint.get("state_size", 0) / 1e6, 1),
                               "rss_mb": {name: round(s[-1][1]) for name, s in sampler.samples.items() if s}})
            scores.stop()
            lag.close()
    finally:
        rest.cancel(job_id)
        drop_bench(bench)
    result = {"benchmark": "soak", "job": "fraud", "minutes": minutes, "max_eps": round(max_eps),
              "offered_eps": round(rate), **summarise(series), "series": series, **machine_info()}
    result["report"] = str(write_report(result))
    return result


class ConsumerLag:
    """Records of the job's input topics beyond the offsets it committed at its last checkpoint,
    read by one probe for the whole run."""

    def __init__(self, config: Config):
        self._probe = consumer(config, f"streamscore-fraud-{config.topics.transactions.name}",
                               **{"isolation.level": "read_uncommitted"})
        self._partitions = [TopicPartition(topic.name, p) for topic in (config.topics.transactions,
                                                                         config.topics.fraud_labels)
                            for p in range(topic.partitions)]

    def __call__(self) -> int:
        return sum(self._probe.get_watermark_offsets(committed, timeout=10)[1] - max(committed.offset, 0)
                   for committed in self._probe.committed(self._partitions, timeout=10))

    def close(self) -> None:
        self._probe.close()


class _ScoreCounter:
    """Counts the scores as they are appended (read uncommitted)."""

    def __init__(self, config: Config):
        self._reader = consumer(config, f"soak-{uuid.uuid4()}", **{"isolation.level": "read_uncommitted"})
        self._reader.subscribe([config.topics.fraud_scores.name])
        self._count = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.is_set():
            arrived = sum(1 for message in self._reader.consume(10_000, timeout=0.5) if not message.error())
            with self._lock:
                self._count += arrived
        self._reader.close()

    def take(self) -> int:
        """Scores since the last call."""
        with self._lock:
            taken, self._count = self._count, 0
        return taken

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


def summarise(series: list[dict]) -> dict:
    """Lag percentiles, and the slope of lag and of each process RSS over the second
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
        "scored": sum(s["scored"] for s in series),
        "restarts": series[-1]["restarts"] if series else 0,
        "rss_mb_end": series[-1]["rss_mb"] if series else {},
        "rss_slope_mb_per_min": {n: slope([s["rss_mb"].get(n, 0) for s in half]) for n in names},
        "checkpoint_mb_max": max((s["checkpoint_mb"] for s in series), default=0),
        "checkpoint_mb_end": series[-1]["checkpoint_mb"] if series else 0,
        "checkpoint_slope_mb_per_min": slope([s["checkpoint_mb"] for s in half]),
    }


def write_report(result: dict) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = result["series"]
    t = [s["t_s"] / 60 for s in series]
    figure, axes = plt.subplots(1, 4, figsize=(20, 4))
    axes[0].plot(t, [s["lag"] for s in series])
    axes[0].set(title="Consumer lag (records)", xlabel="minutes")
    intervals = np.diff([0.0] + [s["t_s"] for s in series])
    axes[1].plot(t, [s["scored"] / i for s, i in zip(series, intervals)], label="scored")
    axes[1].axhline(result["offered_eps"], color="grey", linestyle=":", label="offered")
    axes[1].set(title="Scores per second", xlabel="minutes")
    axes[1].legend()
    for name in result["rss_slope_mb_per_min"]:
        axes[2].plot(t, [s["rss_mb"].get(name) for s in series], label=name)
    axes[2].set(title="RSS per process", xlabel="minutes", ylabel="MB")
    axes[2].legend(fontsize=7)
    axes[3].plot(t, [s["checkpoint_mb"] for s in series])
    axes[3].set(title="Checkpoint size (keyed state)", xlabel="minutes", ylabel="MB")
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
             f"- Scores: {result['scored']:,} ({round(result['scored'] / (60 * result['minutes'])):,}/s on average)",
             f"- Restarts: {result['restarts']}",
             f"- Checkpoint (keyed state): at most {result['checkpoint_mb_max']} MB, {result['checkpoint_mb_end']} MB at "
             f"the end; slope over the second half {result['checkpoint_slope_mb_per_min']} MB/min",
             "- RSS slope over the second half (MB/min): " + ", ".join(
                 f"{n} {v}" for n, v in result["rss_slope_mb_per_min"].items()), "",
             f"![soak]({chart.name})", "", "Reproduce: `streamscore bench soak --json`", "",
             "```json", json.dumps(summary, indent=2), "```", ""]
    path = REPORT_DIR / f"{stem}.md"
    path.write_text("\n".join(lines))
    return str(path)
