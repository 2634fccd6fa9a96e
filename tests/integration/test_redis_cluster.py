"""The fraud job writing to a Redis Cluster of three masters on loopback, beside the running stack.

The cluster is what ``stack up`` starts with ``redis.mode = "cluster"`` (the stack's own service),
here in a folder of its own on ports nothing else uses (7101-7103, cluster buses 17101-17103; not
7001, where a stack run in cluster mode may have its own), stopped at the end. The job runs on the
stack's Flink and Kafka and writes its hashes to the cluster; a reader then finds every customer's
key, with the latest score, spread over all masters.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest

from connectors.redis import connect
from streaming.config import Config
from streaming.flink_client import FlinkRest
from streaming.stack.services import RedisClusterNodes
from tests.support.stack import (drop_topics, flush_event_time, isolated, publish_transactions, running_job,
                                 wait_for_messages, with_registry)

pytestmark = [pytest.mark.stack, pytest.mark.slow]

CLUSTER_URL = "redis://127.0.0.1:7101/0"
MASTERS = 3
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def cluster_nodes(stack, tmp_path_factory) -> Iterator[RedisClusterNodes]:
    """A fresh three-master cluster in its own run folder, plain (no TLS, no ACL user)."""
    config = cluster_mode(stack)
    nodes = RedisClusterNodes(dataclasses.replace(config, stack=dataclasses.replace(
        config.stack, run_dir=str(tmp_path_factory.mktemp("redis-cluster")), secure=False,
        redis_cluster_masters=MASTERS)))
    nodes.start()
    try:
        yield nodes
    finally:
        nodes.stop()


def cluster_mode(config: Config) -> Config:
    return dataclasses.replace(config, redis=dataclasses.replace(
        config.redis, mode="cluster", url=CLUSTER_URL, username="", password_file="", ca_file=""))


@pytest.fixture
def cluster_job_config(cluster_nodes, stack, model_registry, request) -> Iterator[Config]:
    """The stack's configuration with topics of its own, the test registry and Redis in cluster mode."""
    config = with_registry(isolated(cluster_mode(stack), request.node.name), model_registry)
    yield config
    drop_topics(config)


def test_the_fraud_job_writes_every_customer_to_the_cluster_with_its_latest_score(cluster_job_config, history, stack):
    # The job waits for its first commit between the two halves of the feed: a minute or more in
    # which no partition gets data. Were every partition to turn idle meanwhile, rows could vanish
    # when the second half arrives (Flink 2.2, see README "Known limits"): the labels keep the
    # label partitions ahead in event time, and the idle timeout outlasts the wait.
    config = dataclasses.replace(cluster_job_config, flink=dataclasses.replace(
        cluster_job_config.flink, idle_partition_timeout_ms=600_000))
    feed = history[history["TX_DATETIME"] < "2018-04-02"]
    morning, afternoon = feed[feed["TX_DATETIME"] < "2018-04-01 12:00"], feed[feed["TX_DATETIME"] >= "2018-04-01 12:00"]
    scores_topic = config.topics.fraud_scores.name
    client = connect(config, decode_responses=True)
    masters = client.get_primaries()
    assert len(masters) == MASTERS

    with running_job(config, "fraud") as job_id:
        publish_transactions(config, morning, label_delay_days=1)
        # Committed scores mean a checkpoint passed, so the sink has loaded its script and written.
        assert len(wait_for_messages(config, scores_topic, len(morning) // 2)) >= len(morning) // 2
        # Every master forgets the script (as after a restart): the sink's next writes get
        # NOSCRIPT, and it must load the script on all nodes again without failing the job.
        for master in masters:
            master.redis_connection.script_flush()
        publish_transactions(config, afternoon, label_delay_days=1)
        flush_event_time(config, int(feed["TX_DATETIME"].max().value // 1_000_000) + 2 * DAY_MS, labels=True)
        scores = [s for s in wait_for_messages(config, scores_topic, len(feed))
                  if not s["transaction_id"].startswith("sentinel")]
        # The sink met NOSCRIPT and recovered by itself, without a restart of the job.
        assert not FlinkRest(config.flink.rest_url).exceptions(job_id), "the job failed over"

    assert len(scores) == len(feed)
    # The key's winner is the newest (event time, Kafka offset): per customer, the last of the
    # feed's transactions in time, then in publishing order.
    latest = (feed.assign(position=range(len(feed))).sort_values(["TX_DATETIME", "position"])
              .groupby("CUSTOMER_ID")["TRANSACTION_ID"].last())
    by_transaction = {s["transaction_id"]: s for s in scores}
    prefix = f"{config.redis.key_prefix}fraud:customer:"
    expected = {f"{prefix}{customer}": by_transaction[str(tx)] for customer, tx in latest.items()}

    stored = _read_every_key(client, f"{prefix}*", len(expected))
    assert stored.keys() == expected.keys()
    for key, score in expected.items():
        assert (stored[key]["transaction_id"], stored[key]["event_time"], stored[key]["model_version"]) == (
            score["transaction_id"], score["event_time"], score["model_version"]), key
        assert float(stored[key]["score"]) == pytest.approx(score["score"])

    # Each master holds its share of the customers (the keys carry no hash tag).
    per_master = {master.name: sum(1 for _ in master.redis_connection.scan_iter(f"{prefix}*", count=1000))
                  for master in masters}
    assert sum(per_master.values()) == len(expected)
    assert all(count > len(expected) / (2 * MASTERS) for count in per_master.values()), per_master
    # And the standalone Redis of the stack got none of them.
    assert not list(connect(stack).scan_iter(f"{prefix}*", count=1000))


def test_a_restarted_cluster_keeps_its_slot_map_and_keys(cluster_nodes, stack):
    config = cluster_mode(stack)
    client = connect(config, decode_responses=True)
    keys = {f"restart-test:{i}": str(i) for i in range(300)}
    for key, value in keys.items():
        client.hset(key, "value", value)
    pids = [node["pid"] for node in cluster_nodes.status()["nodes"]]
    cluster_nodes.start()  # a healthy cluster is left alone
    assert [node["pid"] for node in cluster_nodes.status()["nodes"]] == pids

    cluster_nodes.stop()
    assert not cluster_nodes.healthy()
    cluster_nodes.start()

    assert cluster_nodes.healthy()
    info = cluster_nodes.cluster_info(cluster_nodes.ports[0])
    assert (info["cluster_slots_assigned"], info["cluster_known_nodes"]) == ("16384", str(MASTERS))
    client = connect(config, decode_responses=True)
    assert {key: client.hget(key, "value") for key in keys} == keys
    assert client.delete(*keys) == len(keys)  # a multi-key command, split by slot


def _read_every_key(client, pattern: str, count: int, timeout_s: float = 30) -> dict[str, dict[str, str]]:
    """Every hash matching ``pattern`` on any master, once there are ``count`` (the sink flushes
    every 200 ms and at checkpoints)."""
    deadline = time.monotonic() + timeout_s
    while len(keys := set(client.scan_iter(pattern, count=1000))) < count and time.monotonic() < deadline:
        time.sleep(0.5)
    return {key: client.hgetall(key) for key in keys}

