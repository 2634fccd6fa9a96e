"""``streamscore bench produce``: how fast the producer path moves events into the local broker.

The events are the simulator's transactions, simulated before the clock starts. Two figures:
``events_per_s`` times the producer alone (ready JSON through librdkafka, delivery confirmed);
``events_per_s_with_serialisation`` adds building the JSON values, the whole ``produce`` path.
Each run writes to a fresh topic; the median of the runs is reported.
"""

from __future__ import annotations

import statistics
import time
import uuid

from connectors.kafka import admin_client, ensure_topics
from fraud.events import fraud_events
from fraud.simulator import SimulationParams, simulate
from streaming.bench.machine import machine_info
from streaming.config import Config, TopicConfig, TopicsConfig
from streaming.producers import Publisher


def bench_produce(config: Config, count: int = 300_000, runs: int = 3) -> dict:
    """Median events/s of ``runs`` runs of ``count`` transactions each (JSON-ready dict)."""
    days = max(1, count // 9_000 + 1)
    frame = simulate(SimulationParams(days=days, seed=config.fraud.simulator_seed)).iloc[:count]
    rates, with_json, payload_bytes = [], [], 0
    for run in range(runs):
        topic = TopicConfig(f"bench-produce-{uuid.uuid4().hex[:8]}", partitions=config.topics.transactions.partitions)
        ensure_topics(config, [topic])
        topics = TopicsConfig(transactions=topic)
        started = time.monotonic()
        chunks = list(fraud_events(frame, None, topics))
        build_s = time.monotonic() - started
        payload_bytes = sum(len(v) for c in chunks for v in c.values) / count
        with Publisher(config, unit="transactions", progress=False) as publisher:
            for chunk in chunks:
                publisher.send(chunk)
        if publisher.failed:
            raise RuntimeError(f"{publisher.failed} messages failed: {publisher.first_error}")
        rates.append(count / publisher.elapsed_s)
        with_json.append(count / (publisher.elapsed_s + build_s))
        admin_client(config).delete_topics([topic.name])
    return {
        "benchmark": "produce",
        "events": count,
        "runs": runs,
        "events_per_s": round(statistics.median(rates)),
        "events_per_s_runs": [round(r) for r in rates],
        # Including building the JSON values from the simulator's table, as `produce` does.
        "events_per_s_with_serialisation": round(statistics.median(with_json)),
        "payload_bytes_mean": round(payload_bytes, 1),
        "partitions": config.topics.transactions.partitions,
        **machine_info(),
    }
