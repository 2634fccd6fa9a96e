"""``streamscore bench e2e --job fraud``: the fraud job on the local stack, against a baseline.

Three measurements in one run, each on topics of its own:

1. **Maximum throughput.** A backlog of simulated transactions (with their labels) is produced
   first; the job drains it. The rate is taken between 20% and 80% of the scores, from the
   scores' append times (the output topic uses LogAppendTime), so start-up is not counted. The
   cluster first drains a shorter backlog unmeasured: a TaskManager's first jobs run up to 1.5
   times slower while the JVM compiles Flink's code (docs/performance.md), and a running
   cluster is past that.
2. **The baseline** (``benchmarks/baseline_fraud.py``: one Python process doing the same work
   without Flink) drains the same backlog, measured the same way. Job and baseline take turns,
   ``runs`` times each, so both see the same machine; the medians are reported.
3. **Offered-load steps.** Live traffic (event time = send time, labels a few seconds later) at
   fractions of the job's maximum, measured after 15 s of warm-up traffic; per step the
   sustained throughput, the event → score latency (score append time − event time) and the
   event → Redis latency (the write time the sink's script records − event time), with CPU and
   peak RSS of every process of the stack.

Results: JSON (CONTRACT.md keys) and ``docs/benchmarks/<date>-fraud.md`` with PNG charts.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import orjson

from connectors.kafka import admin_client, consumer, ensure_topics, producer
from connectors.redis import client as redis_client
from fraud.events import fraud_events, iso_strings
from fraud.simulator import SimulationParams, simulate
from schemas.validation import epoch_millis
from streaming.bench.machine import machine_info
from streaming.bench.processes import ProcessSampler
from streaming.config import PROJECT_ROOT, Config, TopicsConfig
from streaming.flink_client import FlinkRest, submit_job
from streaming.producers import Publisher
from streaming.stack.services import all_services

REPORT_DIR = PROJECT_ROOT / "docs" / "benchmarks"


def bench_e2e_fraud(config: Config, backlog_days: int = 60, step_seconds: int = 30,
                    fractions: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0), baseline: bool = True,
                    runs: int = 3, warmup_days: int = 20) -> dict:
    history = simulate(SimulationParams(seed=config.fraud.simulator_seed))
    backlog = history[history["TX_TIME_DAYS"] < backlog_days]
    if warmup_days:
        max_throughput(config, history[history["TX_TIME_DAYS"] < warmup_days], run=run_job)
    flink_runs, base_runs = [], []
    for _ in range(runs):
        flink_runs.append(round(max_throughput(config, backlog, run=run_job)["events_per_s"]))
        if baseline:
            base_runs.append(round(max_throughput(config, backlog, run=run_baseline)["events_per_s"]))
    flink_eps = float(np.median(flink_runs))
    base_eps = float(np.median(base_runs)) if baseline else None
    steps = [offered_load_step(config, history, fraction * flink_eps, step_seconds) for fraction in fractions]
    half = min(steps, key=lambda s: abs(s["offered_eps"] - 0.5 * flink_eps))
    result = {
        "benchmark": "e2e",
        "job": "fraud",
        "throughput_eps": round(flink_eps),
        "baseline_eps": round(base_eps) if baseline else None,
        "ratio": round(flink_eps / base_eps, 3) if baseline else None,
        "throughput_runs_eps": flink_runs,
        "baseline_runs_eps": base_runs,
        "p50_latency_ms": half["latency_ms"]["p50"],
        "p99_latency_ms": half["latency_ms"]["p99"],
        "latency_at_eps": round(half["offered_eps"]),
        "redis_p99_latency_ms": half["redis_latency_ms"]["p99"],
        "peak_rss_mb": half["processes"],
        "steps": steps,
        "backlog_transactions": len(backlog),
        "arrow_batch_size": config.inference.max_batch_size,
        **machine_info(),
    }
    result["report"] = str(write_report(result))
    return result


def bench_topics(config: Config, scores: str = "fraud_scores") -> Config:
    """Fresh topics for one measurement; scores are stamped when the broker appends them."""
    suffix = f"bench-{uuid.uuid4().hex[:8]}"
    renamed = {f.name: dataclasses.replace(getattr(config.topics, f.name), name=f"{getattr(config.topics, f.name).name}.{suffix}")
               for f in dataclasses.fields(TopicsConfig)}
    renamed[scores] = dataclasses.replace(renamed[scores], timestamp_type="LogAppendTime")
    bench = dataclasses.replace(config, topics=TopicsConfig(**renamed),
                                redis=dataclasses.replace(config.redis, key_prefix=f"{suffix}:"))
    ensure_topics(bench)
    return bench


def drop_bench(config: Config) -> None:
    admin_client(config).delete_topics([t.name for t in config.topics.all()])
    redis = redis_client(config)
    for key in redis.scan_iter(f"{config.redis.key_prefix}*", count=1000):
        redis.delete(key)


def publish(config: Config, frame, rate: float | None = None, live_delay_ms: int | None = None) -> np.ndarray | None:
    """Send ``frame``'s transactions and labels: as fast as the broker takes them, or live at ``rate``
    (event time = send time, labels ``live_delay_ms`` after their transaction; returns the
    transactions' event times)."""
    delay = live_delay_ms if live_delay_ms is not None else config.fraud.label_delay_days * 86_400_000
    times = None
    with Publisher(config, rate=rate, progress=False, counted_topic=config.topics.transactions.name) as publisher:
        if live_delay_ms is None:
            for chunk in fraud_events(frame, delay, config.topics, chunk_size=20_000):
                publisher.send(chunk)
        else:
            # The load generator shares the machine with the job it measures, so every event is
            # encoded before the first is due (about 4 µs a message here; 10 allowed), and while the
            # job is measured the generator only hands due chunks to the producer: 10 ms of events
            # each, so none leaves more than 10 ms after its event time.
            start_ms = int((time.time() + 1 + 2 * len(frame) * 10e-6) * 1000)
            times = start_ms + (np.arange(len(frame)) * 1000 / rate).astype(np.int64)
            send_when_due(publisher, list(fraud_events(frame, delay, config.topics,
                                                       chunk_size=live_chunk_size(rate), tx_times_ms=times)))
    if publisher.failed:
        raise RuntimeError(f"{publisher.failed} events were not delivered: {publisher.first_error}")
    return times


def flush_event_time(config: Config, after_ms: int, labels: bool = False) -> None:
    """A transaction on every partition of the transactions topic at ``after_ms`` (and, with
    ``labels``, a label on every partition of fraud-labels): event time then passes everything
    before it, so the job scores its last buffered transactions, without waiting for idle
    partitions. The sentinels themselves stay buffered."""
    client = producer(config)
    stamp = str(iso_strings(np.array([after_ms]))[0])
    topics = [config.topics.transactions.name] + ([config.topics.fraud_labels.name] if labels else [])
    for topic in topics:
        for partition in client.list_topics(topic, timeout=10).topics[topic].partitions:
            name = f"sentinel-{after_ms}-{partition}"
            event = {"transaction_id": name, "event_time": stamp, "customer_id": name, "terminal_id": "sentinel"}
            if topic == config.topics.transactions.name:
                event["amount"] = 1.0
            else:
                event.update(tx_event_time=stamp, is_fraud=False)
            client.produce(topic, orjson.dumps(event), name.encode(), partition=partition, timestamp=after_ms)
    assert client.flush(30) == 0


def send_when_due(publisher: Publisher, chunks) -> None:
    """Send each chunk when its last event is due (its timestamp), so events leave on time."""
    for chunk in chunks:
        wait = chunk.timestamps[-1] / 1000 - time.time()
        if wait > 0:
            time.sleep(wait)
        publisher.send(chunk)


def live_chunk_size(rate: float) -> int:
    """Events per live chunk: 10 ms of them at ``rate``."""
    return max(1, int(rate / 100))


def score_times(config: Config, expected: int, quiet_s: float = 20, timeout_s: float = 1800,
                 topic: str | None = None, start_s: float = 180) -> np.ndarray:
    """Append times (ms) of the scores, read uncommitted as they are written, until all are there
    or none came for ``quiet_s`` (the job keeps the newest transactions until event time passes).
    The first score may take ``start_s``: the job starts its Python workers first."""
    reader = consumer(config, f"bench-{uuid.uuid4()}", **{"isolation.level": "read_uncommitted"})
    reader.subscribe([topic or config.topics.fraud_scores.name])
    times: list[int] = []
    deadline, last = time.monotonic() + timeout_s, time.monotonic() + start_s - quiet_s
    try:
        while len(times) < expected and time.monotonic() < deadline and time.monotonic() - last < quiet_s:
            batch = [m.timestamp()[1] for m in reader.consume(10_000, timeout=1.0) if not m.error()]
            if batch:
                times += batch
                last = time.monotonic()
    finally:
        reader.close()
    return np.sort(np.array(times))


def max_throughput(config: Config, history, run) -> dict:
    bench = bench_topics(config)
    try:
        publish(bench, history)
        started = run(bench, len(history))
        times = score_times(bench, len(history))
        started.stop()
        if len(times) < 0.8 * len(history):
            raise RuntimeError(f"only {len(times)} of {len(history)} transactions were scored")
        return {"events_per_s": steady_rate(times)}
    finally:
        drop_bench(bench)


class _Running:
    def __init__(self, stop):
        self.stop = stop


def run_job(config: Config, expected: int) -> _Running:
    rest = FlinkRest(config.flink.rest_url)
    job_id = submit_job(config, "fraud")
    return _Running(lambda: rest.cancel(job_id))


def run_baseline(config: Config, expected: int) -> _Running:
    config_file = Path(config.stack.run_dir) / "bench-baseline-config.json"
    config_file.write_text(json.dumps(config.to_dict()))
    process = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "benchmarks" / "baseline_fraud.py"),
                                "--config-file", str(config_file), "--group", f"baseline-{uuid.uuid4()}",
                                "--stop-after", str(expected)], cwd=PROJECT_ROOT)
    return _Running(lambda: (process.terminate(), process.wait(30)))


def offered_load_step(config: Config, history, rate: float, seconds: int, warmup_s: int = 15) -> dict:
    """The fraud job under live transactions at ``rate`` (``live_step``)."""
    bench = bench_topics(config)
    frame = history.iloc[:int(rate * (warmup_s + seconds))]
    return live_step(bench, "fraud", lambda: publish(bench, frame, rate, live_delay_ms=5_000), rate, len(frame),
                     seconds, warmup_s)


# Per job: the topic its scores go to, and the Redis keys its sink writes.
LIVE_OUTPUTS = {"fraud": ("fraud_scores", "fraud:customer:*"), "sentiment": ("sentiment_scores", "sentiment:doc:*")}


def live_step(bench: Config, job: str, send, rate: float, sent: int, seconds: int, warmup_s: int) -> dict:
    """Run ``job`` on ``bench``'s topics, ``send()`` producing ``sent`` events live at ``rate``
    (event time = send time) for ``warmup_s`` + ``seconds``, then read its scores; only events of
    the last ``seconds`` are measured.

    A job just started holds its first events for seconds (the first records through each
    operator, its first checkpoint): measured from its first event, every step's p99 was that
    warm-up, not the job's steady state (docs/performance.md, "Latency").
    """
    scores_topic, redis_pattern = LIVE_OUTPUTS[job]
    rest = FlinkRest(bench.flink.rest_url)
    job_id = submit_job(bench, job)
    rest.wait_until_running(job_id)
    try:
        # Scores are read once the traffic has ended: their append times are the broker's, and a
        # reader running alongside would take CPU from the job it measures.
        with ProcessSampler(stack_pids(bench)) as sampler:
            generator_cpu = time.process_time()
            send()
            generator_cpu = time.process_time() - generator_cpu
        appended, latencies = score_latencies(bench, getattr(bench.topics, scores_topic).name, sent, 120)
        event_times = appended - latencies
        measured_from_ms = int(event_times.min()) + warmup_s * 1000 if len(event_times) else 0
        redis = redis_latencies(bench, redis_pattern, since_ms=measured_from_ms)
    finally:
        rest.cancel(job_id)
        drop_bench(bench)
    measured = event_times >= measured_from_ms
    window = np.sort(appended[measured])
    sustained = len(window) / max((window[-1] - window[0]) / 1000, 1e-3) if len(window) > 1 else 0.0
    return {"offered_eps": round(rate, 1), "throughput_eps": round(sustained),
            "scored": len(latencies), "sent": sent, "warmup_s": warmup_s,
            "latency_ms": percentiles(latencies[measured]), "redis_latency_ms": percentiles(redis),
            "processes": sampler.summary(), "load_generator_cpu_s": round(generator_cpu, 1)}


def stack_pids(config: Config) -> dict[str, int]:
    """The pid of every process of the local stack, by name (jobmanager, taskmanager, kafka, ...)."""
    pids = {}
    for service in all_services(config):
        status = service.status()
        if service.name == "flink":
            pids["jobmanager"] = status["jobmanager_pid"]
            for i, pid in enumerate(status["taskmanager_pids"]):
                pids[f"taskmanager-{i}" if i else "taskmanager"] = pid
        else:
            pids[service.name] = status.get("pid")
    return pids


def score_latencies(config: Config, topic: str, expected: int, timeout_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Append times of the scores on ``topic`` (read uncommitted, as written) and their event →
    append latencies (ms), until 98% of ``expected`` are there or ``timeout_s`` passes."""
    reader = consumer(config, f"bench-{uuid.uuid4()}", **{"isolation.level": "read_uncommitted"})
    reader.subscribe([topic])
    appended, latencies = [], []
    deadline = time.monotonic() + timeout_s
    try:
        while len(latencies) < 0.98 * expected and time.monotonic() < deadline:
            for message in reader.consume(10_000, timeout=1.0):
                if not message.error():
                    appended.append(message.timestamp()[1])
                    latencies.append(appended[-1] - epoch_millis(json.loads(message.value())["event_time"]))
    finally:
        reader.close()
    return np.array(appended, dtype=np.int64), np.array(latencies, dtype=np.int64)


def redis_latencies(config: Config, pattern: str, since_ms: int = 0) -> np.ndarray:
    """Event → Redis latencies (ms) of the keys matching ``pattern``: the time the sink's script
    wrote each hash minus the event time it holds (of events from ``since_ms`` on)."""
    redis = redis_client(config)
    latencies = []
    for key in redis.scan_iter(f"{config.redis.key_prefix}{pattern}", count=1000):
        written, event_time = redis.hmget(key, "_written_ms", "event_time")
        if written and event_time and epoch_millis(event_time) >= since_ms:
            latencies.append(int(written) - epoch_millis(event_time))
    return np.array(latencies, dtype=np.int64)


def steady_rate(times: np.ndarray) -> float:
    """Scores per second between 20% and 80% of ``times`` (sorted): without start-up and the tail."""
    lo, hi = times[int(0.2 * len(times))], times[int(0.8 * len(times))]
    return int(0.6 * len(times)) / max((hi - lo) / 1000, 1e-3)


def percentiles(values: np.ndarray) -> dict:
    values = np.asarray(values) if len(values) else np.array([0])
    return {f"p{q}": round(float(np.percentile(values, q)), 1) for q in (50, 90, 99)} | {"max": float(values.max())}


def write_report(result: dict) -> Path:
    """``docs/benchmarks/<date>-fraud.md`` with the charts beside it."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    stem = f"{result['date']}-{result['job']}"
    steps = result["steps"]
    offered = [s["offered_eps"] for s in steps]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4))
    axes[0].plot(offered, [s["throughput_eps"] for s in steps], "o-", label="fraud job")
    axes[0].plot(offered, offered, ":", color="grey", label="offered")
    if result["baseline_eps"]:
        axes[0].axhline(result["baseline_eps"], color="tab:red", linestyle="--", label="baseline maximum")
    axes[0].axhline(result["throughput_eps"], color="tab:blue", linestyle="--", label="job maximum (backlog)")
    axes[0].set(title="Throughput vs offered load", xlabel="offered events/s", ylabel="scored events/s")
    axes[0].legend()
    for q in ("p50", "p90", "p99"):
        axes[1].plot(offered, [s["latency_ms"][q] for s in steps], "o-", label=f"event → score {q}")
    axes[1].plot(offered, [s["redis_latency_ms"]["p99"] for s in steps], "s--", label="event → Redis p99")
    axes[1].set(title="Latency", xlabel="offered events/s", ylabel="ms", yscale="log")
    axes[1].legend()
    names = [n for n in steps[-1]["processes"] if n != "total"]
    axes[2].bar(names, [steps[-1]["processes"][n]["peak_rss_mb"] for n in names])
    axes[2].set(title=f"Peak RSS at {offered[-1]} events/s", ylabel="MB")
    axes[2].tick_params(axis="x", rotation=45)
    figure.tight_layout()
    chart = REPORT_DIR / f"{stem}.png"
    figure.savefig(chart, dpi=90)
    plt.close(figure)
    lines = [f"# End-to-end benchmark: {result['job']} job, {result['date']}", "",
             f"Machine: {result['cpus']} cores ({result['cpu_model']}), {result['memory_gb']} GB; "
             f"versions {json.dumps(result['versions'])}; Arrow batches of up to {result['arrow_batch_size']:,} rows.", "",
             f"- Maximum throughput (backlog of {result['backlog_transactions']:,} transactions, median of "
             f"{len(result['throughput_runs_eps'])} drains after an unmeasured warm-up): "
             f"**{result['throughput_eps']:,} events/s** (runs: {', '.join(f'{r:,}' for r in result['throughput_runs_eps'])})",
             f"- Baseline program (`benchmarks/baseline_fraud.py`), same data, taking turns with the job: "
             f"{result['baseline_eps']:,} events/s (runs: {', '.join(f'{r:,}' for r in result['baseline_runs_eps'])}); "
             f"ratio **{result['ratio']}**",
             f"- Latency at {result['latency_at_eps']:,} events/s (about half the maximum): event → score p50 "
             f"{result['p50_latency_ms']} ms, p99 {result['p99_latency_ms']} ms; event → Redis p99 "
             f"{result['redis_p99_latency_ms']} ms", "", f"![charts]({chart.name})", "",
             "| offered events/s | sustained events/s | scored / sent | event→score p50 / p99 ms | event→Redis p99 ms | total peak RSS MB |",
             "| --- | --- | --- | --- | --- | --- |"]
    for s in steps:
        lines.append(f"| {s['offered_eps']:,} | {s['throughput_eps']:,} | {s['scored']:,} / {s['sent']:,} | "
                     f"{s['latency_ms']['p50']} / {s['latency_ms']['p99']} | {s['redis_latency_ms']['p99']} | "
                     f"{s['processes']['total']['peak_rss_mb']:,} |")
    lines += ["", "Per process at the highest step (peak RSS MB, CPU cores):", ""]
    lines += [f"- {name}: {p['peak_rss_mb']} MB, {p.get('cpu_cores', '-')} cores"
              for name, p in steps[-1]["processes"].items()]
    lines += ["", "Reproduce: `streamscore bench e2e --job fraud --json`", "",
              "```json", json.dumps({k: v for k, v in result.items() if k != "steps"}, indent=2), "```", ""]
    path = REPORT_DIR / f"{stem}.md"
    path.write_text("\n".join(lines))
    return path
