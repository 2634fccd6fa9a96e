"""Changing the serving model version under a running job: nothing lost, nothing scored twice,
and in every partition the version switches once, at one offset."""

import dataclasses
import time
from pathlib import Path

import numpy as np
import orjson
import pytest

from connectors.kafka import read_topic
from fraud.events import EventChunk
from inference.registry import ModelRegistry
from streaming.flink_client import FlinkRest, submit_job
from streaming.producers import Publisher
from streaming.background import Background
from tests.support.onnx_models import logistic_model, publish_tabular
from tests.support.stack import read_json

pytestmark = [pytest.mark.stack, pytest.mark.slow]
ROWS = 12_000


def rows(count: int, topic: str) -> list[EventChunk]:
    now = int(time.time() * 1000)
    values = [orjson.dumps({"a": (i % 100) / 10}) for i in range(count)]
    return [EventChunk([topic] * 500, [str(i).encode() for i in range(s, s + 500)], values[s:s + 500],
                       np.arange(now + s, now + s + 500)) for s in range(0, count, 500)]


def test_serving_version_changes_mid_stream_without_loss_or_duplicates(isolated_config, tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    publish_tabular(registry, "swap", logistic_model(tmp_path / "v1.onnx", [1.0]), ["a"])
    config = dataclasses.replace(isolated_config, inference=dataclasses.replace(
        isolated_config.inference, registry_dir=str(registry.root), reload_interval_s=0.5))
    rest = FlinkRest(config.flink.rest_url)
    job_id = submit_job(config, "score-features", parallelism=2, params={"model": "swap"},
                        job_file=Path(__file__).parent / "jobs" / "score_features.py")
    try:
        def swap_midway():
            time.sleep(6)
            publish_tabular(registry, "swap", logistic_model(tmp_path / "v2.onnx", [2.0]), ["a"])
        swapper = Background(swap_midway)
        with Publisher(config, rate=1000, progress=False) as publisher:
            for chunk in rows(ROWS, config.topics.transactions.name):
                publisher.send(chunk)
        swapper.result()
        scored = []
        deadline = time.monotonic() + 120
        while len(scored) < ROWS and time.monotonic() < deadline:
            scored = [orjson.loads(m.value()) for m in read_topic(config, config.topics.fraud_scores.name,
                                                                  idle_timeout_s=3)]
    finally:
        rest.cancel(job_id)

    keys = [(r["in_partition"], r["in_offset"]) for r in scored]
    assert len(keys) == ROWS and len(set(keys)) == ROWS, "rows were lost or scored twice"
    for row in scored:
        weight = {"swap:1": 1.0, "swap:2": 2.0}[row["model_version"]]
        assert row["score"] == pytest.approx(1 / (1 + np.exp(-weight * row["a"])), rel=1e-6)
    switched = 0
    for partition in {p for p, _ in keys}:
        versions = [r["model_version"] for r in sorted(scored, key=lambda r: r["in_offset"]) if r["in_partition"] == partition]
        changes = sum(1 for a, b in zip(versions, versions[1:]) if a != b)
        assert changes <= 1 and versions[0] == "swap:1", f"partition {partition} went {versions[0]} … {versions[-1]} with {changes} switches"
        switched += changes
    assert switched >= 1 and {r["model_version"] for r in scored} == {"swap:1", "swap:2"}
    # Each operator instance that swapped left one record in the audit trail.
    swaps = [r for r in read_json(config, config.topics.audit.name) if r["action"] == "model swap"]
    assert 1 <= len(swaps) <= 2
    assert all(r["arguments"] == {"job": "score-features", "from": "swap:1", "to": "swap:2"} for r in swaps)
