"""Helpers for integration tests on the real stack: run a job, feed it, read what it wrote."""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections.abc import Iterator

import numpy as np
import orjson
import pandas as pd

from connectors.kafka import admin_client, consumer, ensure_topics, producer, read_topic
from fraud.events import fraud_events, iso_strings
from sentiment.news import news_chunks
from streaming.config import Config, TopicsConfig
from streaming.flink_client import FlinkRest, submit_job
from streaming.bench.e2e import flush_event_time  # noqa: F401 (the tests import it from here)
from streaming.producers import Publisher


def isolated(config: Config, name: str) -> Config:
    """``config`` with every topic renamed after ``name`` plus a random suffix, created empty."""
    suffix = f"{name[:40]}-{uuid.uuid4().hex[:6]}".replace("[", "-").replace("]", "").replace("_", "-")
    topics = TopicsConfig(**{
        f.name: dataclasses.replace(getattr(config.topics, f.name), name=f"{getattr(config.topics, f.name).name}.{suffix}")
        for f in dataclasses.fields(TopicsConfig)})
    config = dataclasses.replace(config, topics=topics)
    ensure_topics(config)
    return config


def drop_topics(config: Config) -> None:
    admin_client(config).delete_topics([t.name for t in config.topics.all()])


def with_registry(config: Config, registry_dir: str) -> Config:
    """``config`` with the test registry and a Redis key prefix of its own."""
    return dataclasses.replace(
        config,
        inference=dataclasses.replace(config.inference, registry_dir=registry_dir),
        redis=dataclasses.replace(config.redis, key_prefix=f"{config.topics.news.name}:"))


@contextlib.contextmanager
def running_job(config: Config, name: str, **submit) -> Iterator[str]:
    """Submit a job, yield its id once it runs, cancel it at the end."""
    rest = FlinkRest(config.flink.rest_url)
    job_id = submit_job(config, name, **submit)
    rest.wait_until_running(job_id)
    try:
        yield job_id
    finally:
        if rest.job(job_id)["state"] not in ("FINISHED", "CANCELED", "FAILED"):
            rest.cancel(job_id)


def publish_transactions(config: Config, frame: pd.DataFrame, label_delay_days: float | None = 7) -> None:
    delay = None if label_delay_days is None else int(label_delay_days * 86_400_000)
    with Publisher(config, progress=False) as publisher:
        for chunk in fraud_events(frame, delay, config.topics):
            publisher.send(chunk)
    assert publisher.failed == 0, publisher.first_error


def publish_news(config: Config, plan, bad: list[tuple[bytes, int]] = ()) -> None:
    """``bad`` payloads (with their record timestamps) first, then the plan's documents."""
    client = producer(config)
    for payload, timestamp in bad:
        client.produce(config.topics.news.name, payload, timestamp=timestamp)
    assert client.flush(30) == 0
    with Publisher(config, progress=False) as publisher:
        for chunk in news_chunks(plan.documents, config.topics.news.name, plan.times_ms, seed=1):
            publisher.send(chunk)
    assert publisher.failed == 0, publisher.first_error


def flush_news_time(config: Config, after_ms: int) -> None:
    """A document on every partition of the news topic at ``after_ms``, so event time passes
    every window before it."""
    topic = config.topics.news.name
    client = producer(config)
    for partition in client.list_topics(topic, timeout=10).topics[topic].partitions:
        event = {"id": f"flush-{partition}", "event_time": str(iso_strings(np.array([after_ms]))[0]),
                 "text": f"Flush marker {partition} for the end of the test"}
        client.produce(topic, orjson.dumps(event), partition=partition, timestamp=after_ms)
    assert client.flush(30) == 0


def read_json(config: Config, topic: str, idle_timeout_s: float = 3) -> list[dict]:
    return [orjson.loads(m.value()) for m in read_topic(config, topic, idle_timeout_s=idle_timeout_s)]


def wait_for_messages(config: Config, topic: str, count: int, timeout_s: float = 180) -> list[dict]:
    """Committed messages of ``topic`` once there are at least ``count`` (or all at the timeout)."""
    deadline = time.monotonic() + timeout_s
    seen: list[dict] = []
    reader = consumer(config, group_id=f"test-wait-{topic}-{time.monotonic_ns()}")
    reader.subscribe([topic])
    try:
        while len(seen) < count and time.monotonic() < deadline:
            for message in reader.consume(10_000, timeout=1.0):
                if not message.error():
                    seen.append(orjson.loads(message.value()))
    finally:
        reader.close()
    return seen
