"""The program a competent engineer would write instead of the fraud job: one Python process.

confluent-kafka consumer → orjson → the handbook's features kept in Python dicts (per customer,
per terminal with the label delay) → the same ONNX model in batches → a Redis pipeline → a Kafka
producer. It processes events in arrival order (no watermarks, no exactly-once, no state that
survives a crash): what it skips is what the Flink job adds. ``streamscore bench e2e`` runs it on
the same data and machine to report the job's throughput relative to it.

Usage: python benchmarks/baseline_fraud.py --config-file cfg.json --group G --stop-after N
"""

from __future__ import annotations

import argparse
import bisect
import json
import time
from collections import defaultdict, deque
from pathlib import Path

import numpy as np
import orjson

from connectors.kafka import consumer, producer
from connectors.redis import client as redis_client
from fraud.features import FEATURES
from fraud.model_features import model_matrix
from inference.registry import ModelRegistry
from inference.runner import OnnxRunner, RunnerSettings
from schemas.validation import epoch_millis
from streaming.config import from_dict

DAY_MS = 86_400_000
WINDOWS_MS = (DAY_MS, 7 * DAY_MS, 30 * DAY_MS)


class Features:
    """Customer spending and terminal risk in dicts of deques, updated in arrival order."""

    def __init__(self, delay_ms: int):
        self.delay_ms = delay_ms
        self.customers: dict[str, deque] = defaultdict(deque)   # (time, amount)
        self.terminals: dict[str, list] = defaultdict(list)      # transaction times, sorted
        self.frauds: dict[str, list] = defaultdict(list)         # fraud transaction times, sorted

    def label(self, event: dict) -> None:
        if event["is_fraud"]:
            bisect.insort(self.frauds[event["terminal_id"]], epoch_millis(event["tx_event_time"]))

    def transaction(self, event: dict, t: int) -> list[float]:
        history = self.customers[event["customer_id"]]
        amount = float(event["amount"])
        history.append((t, amount))
        while history[0][0] <= t - WINDOWS_MS[-1]:
            history.popleft()
        row = [amount, 0.0, 0.0]
        for window in WINDOWS_MS:
            amounts = [a for s, a in history if s > t - window]
            row += [float(len(amounts)), sum(amounts) / len(amounts)]
        times, frauds = self.terminals[event["terminal_id"]], self.frauds[event["terminal_id"]]
        end = t - self.delay_ms
        for window in WINDOWS_MS:
            count = bisect.bisect_right(times, end) - bisect.bisect_right(times, end - window)
            fraud = bisect.bisect_right(frauds, end) - bisect.bisect_right(frauds, end - window)
            row += [float(count), fraud / count if count else 0.0]
        bisect.insort(times, t)
        moment = time.gmtime(t // 1000)
        row[1] = float(moment.tm_wday >= 5)
        row[2] = float(moment.tm_hour <= 6)
        return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--stop-after", type=int, required=True, help="transactions to score, then exit")
    args = parser.parse_args()
    config = from_dict(json.loads(Path(args.config_file).read_text()))
    model = ModelRegistry(config.inference.registry_dir).load(config.fraud.model)
    runner = OnnxRunner(model.file(), RunnerSettings(device="cpu", intra_op_threads=config.inference.intra_op_threads))
    runner.open()
    features = Features(config.fraud.label_delay_days * DAY_MS)
    reader = consumer(config, args.group, **{"fetch.min.bytes": 65536})
    reader.subscribe([config.topics.transactions.name, config.topics.fraud_labels.name])
    writer = producer(config)
    redis = redis_client(config)
    scores_topic, scored = config.topics.fraud_scores.name, 0
    while scored < args.stop_after:
        messages = reader.consume(2000, timeout=1.0)
        rows, events = [], []
        for message in messages:
            if message.error():
                continue
            try:
                event = orjson.loads(message.value())
            except orjson.JSONDecodeError:
                continue
            if message.topic() == config.topics.fraud_labels.name:
                features.label(event)
                continue
            t = message.timestamp()[1]
            rows.append(features.transaction(event, t))
            events.append((event, t))
        if not rows:
            continue
        matrix = model_matrix(np.array(rows), FEATURES, model.metadata["features"])
        scores = runner.run({"features": matrix})["probabilities"][:, 1]
        pipeline = redis.pipeline(transaction=False)
        for (event, t), score in zip(events, scores.tolist()):
            result = {"transaction_id": event["transaction_id"], "customer_id": event["customer_id"],
                      "event_time": event["event_time"], "score": score, "model_version": model.tag}
            writer.produce(scores_topic, orjson.dumps(result), event["customer_id"].encode(), timestamp=t)
            pipeline.hset(f"baseline:fraud:customer:{event['customer_id']}", mapping={
                "score": score, "transaction_id": event["transaction_id"], "event_time": event["event_time"]})
        pipeline.execute()
        writer.poll(0)
        scored += len(events)
    writer.flush(30)


if __name__ == "__main__":
    main()
