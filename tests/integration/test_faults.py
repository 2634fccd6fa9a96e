"""Real faults on the real stack under live traffic: a reader of the outputs sees what a run
without the fault gives.

Every run feeds the fraud job live transactions (event time = send time, labels a few seconds
later) at a steady rate, after a short history and a quiet spell long enough for every partition
to go idle (the path of issue 29: traffic resuming on idle partitions). The fault lands mid-stream,
with scores already committed, and the producer keeps sending through the outage. What a fault-free
run gives is known without running one: each transaction's features are the batch reference's on
the events as sent (the parity the 45-day test proves for a fault-free run), so each run must show
every transaction scored once with those features, the alerts exactly the scores at or above the
threshold, only the corpus' bad events in ``dead-letter`` (none late), and in Redis each card's
latest score.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest

from connectors.kafka import count_messages, producer
from connectors.redis import connect
from fraud.features import transform
from fraud.model_features import STREAM_COLUMNS
from streaming.bench.e2e import publish
from streaming.config import Config
from streaming.flink_client import FlinkRest, submit_job
from streaming.stack.faults import FAULTS, Fault, lose_taskmanager_for_15_s, restart_broker, wait_until
from streaming.stack.services import FlinkCluster
from streaming.background import Background
from tests.support.cases import bad_cases, case_payload
from tests.support.stack import (drop_topics, flush_event_time, isolated, publish_transactions, read_json,
                                 wait_for_messages, with_registry)

pytestmark = [pytest.mark.stack, pytest.mark.slow]

RATES_TX_PER_S = (800, 2500)
TRAFFIC_S = 30
LABEL_DELAY_MS = 5_000
# Partitions go idle after this long without records; the run waits a little longer before the
# live traffic, so it starts on idle partitions, as after a quiet night.
IDLE_TIMEOUT_MS = 3_000
LIVE_IDS_FROM = 10_000_000
HISTORY_TX = 2_000
SECOND_CLUSTER = "http://127.0.0.1:8091"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a reader of the job's outputs sees once the input is processed."""

    scores: dict[str, float]
    features: pd.DataFrame
    alerts: frozenset[str]
    dead_letters: Counter
    redis: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def live_feed(history) -> pd.DataFrame:
    """Transactions for the live traffic: the simulator's, with ids no history uses."""
    feed = history.iloc[:max(RATES_TX_PER_S) * TRAFFIC_S].copy()
    return feed.assign(TRANSACTION_ID=feed["TRANSACTION_ID"] + LIVE_IDS_FROM)


# Every fault at both rates; at the higher only (the suite's time): the late replacement, a variant
# of the TaskManager kill, and the broker restart (its run at 800 tx/s is in the closing note of
# issue 29, 2 of 2 clean on 2026-12-07).
HIGHER_RATE_ONLY = (lose_taskmanager_for_15_s, restart_broker)
CASES = [pytest.param(fault, rate, id=f"{fault.__name__}-{rate}-tx-per-s")
         for fault in FAULTS for rate in RATES_TX_PER_S
         if fault not in HIGHER_RATE_ONLY or rate == max(RATES_TX_PER_S)]
# After a broker restart some partitions had no records for more than 3 s after the others had
# (their fetches start again one by one), so with the 3-s timeout they rightly count as idle and
# their records come late. The broker restart runs with 10 s; the shipped default is 60 s.
BROKER_IDLE_TIMEOUT_MS = 10_000


@pytest.mark.parametrize("fault, rate", CASES)
def test_a_fault_under_live_traffic_changes_nothing_a_reader_sees(stack, model_registry, history, live_feed,
                                                                  fault, rate):
    idle_timeout_ms = BROKER_IDLE_TIMEOUT_MS if fault is restart_broker else IDLE_TIMEOUT_MS
    config = fault_config(stack, model_registry, f"{fault.__name__}-{rate}", idle_timeout_ms)
    feed = live_feed.iloc[:rate * TRAFFIC_S]
    outcome, sent = run_fraud_job(config, history, feed, rate, fault)
    assert_as_without_fault(config, outcome, sent)


def test_a_job_submitted_to_another_cluster_survives_losing_one_of_two_taskmanagers(
        stack, model_registry, history, live_feed, second_cluster):
    """``job submit --cluster URL`` at parallelism 2 over two TaskManagers; one is killed and not
    replaced: the job recovers from its checkpoint on the other (it has slots for both subtasks),
    then stops with a savepoint."""
    rest = FlinkRest(SECOND_CLUSTER)
    taskmanagers = FlinkCluster(second_cluster).taskmanagers
    ran_on = {}

    def kill_one_taskmanager(config: Config, job_id: str) -> str:
        ran_on["before"] = rest.taskmanagers(job_id)
        # The TaskManager with its keeper, as when its machine is lost: nothing starts it again.
        os.killpg(taskmanagers[0].pid, signal.SIGKILL)
        wait_until(lambda: rest.exceptions(job_id), "the job to fail over")
        return job_id

    def stop_with_savepoint(job_id: str) -> None:
        ran_on["after"] = rest.taskmanagers(job_id)
        ran_on["savepoint"] = rest.savepoint(job_id, stop=True)
        rest.wait_for_state(job_id, {"FINISHED"})

    rate = min(RATES_TX_PER_S)
    config = fault_config(stack, model_registry, "second-cluster")
    outcome, sent = run_fraud_job(config, history, live_feed.iloc[:rate * TRAFFIC_S], rate, kill_one_taskmanager,
                                  cluster=SECOND_CLUSTER, before_cancel=stop_with_savepoint)
    assert _started_as(ran_on["before"]) == {"taskmanager-0", "taskmanager-1"}
    assert _started_as(ran_on["after"]) == {"taskmanager-1"}
    assert_as_without_fault(config, outcome, sent)
    assert Path(urlparse(ran_on["savepoint"]).path, "_metadata").is_file()
    assert [job["state"] for job in rest.jobs()] == ["FINISHED"]


@pytest.fixture(scope="module")
def second_cluster(stack, tmp_path_factory) -> Config:
    """Another standalone Flink cluster beside the stack's, on other ports: two TaskManagers
    of two slots each. It reaches the stack's Kafka and Redis."""
    config = dataclasses.replace(
        stack,
        flink=dataclasses.replace(stack.flink, rest_url=SECOND_CLUSTER, rpc_port=6133, taskmanagers=2,
                                  slots_per_taskmanager=2),
        prometheus=dataclasses.replace(stack.prometheus, flink_metrics_ports="9290-9292"),
        stack=dataclasses.replace(stack.stack, run_dir=str(tmp_path_factory.mktemp("second-cluster")),
                                  taskmanager_memory="3072m"))
    cluster = FlinkCluster(config)
    try:
        cluster.start()
        yield config
    finally:
        cluster.stop()


def _started_as(resource_ids: set[str]) -> set[str]:
    """``taskmanager-0-142416`` → ``taskmanager-0``: which TaskManager of the stack, whenever started."""
    return {resource_id.rsplit("-", 1)[0] for resource_id in resource_ids}


def fault_config(stack: Config, registry: str, name: str, idle_timeout_ms: int = IDLE_TIMEOUT_MS) -> Config:
    config = with_registry(isolated(stack, f"faults-{name}"), registry)
    return dataclasses.replace(
        config,
        fraud=dataclasses.replace(config.fraud, label_delay_days=LABEL_DELAY_MS / 86_400_000, emit_features=True),
        flink=dataclasses.replace(config.flink, idle_partition_timeout_ms=idle_timeout_ms))


def run_fraud_job(config: Config, history: pd.DataFrame, feed: pd.DataFrame, rate: int, fault: Fault,
                  cluster: str | None = None,
                  before_cancel: Callable[[str], None] | None = None) -> tuple[Outcome, pd.DataFrame]:
    """History, a quiet spell, then ``feed`` live at ``rate`` with ``fault`` once scores are
    committed; returns the outcome and the transactions as sent (with their event times).

    The job runs on the stack's Flink, or on the one at ``cluster``; ``before_cancel`` gets the
    id of the job once its outputs are read, while it still runs."""
    rest = FlinkRest(cluster or config.flink.rest_url)
    job_id = submit_job(config, "fraud", cluster=cluster)
    try:
        rest.wait_until_running(job_id)
        publish_transactions(config, history.iloc[:HISTORY_TX], label_delay_days=None)
        time.sleep(2 * config.flink.idle_partition_timeout_ms / 1000)
        sending = Background(publish, config, feed, rate, LABEL_DELAY_MS)
        wait_until(lambda: count_messages(config, config.topics.fraud_scores.name) > HISTORY_TX,
                   "the first committed live scores")
        assert sending.is_alive(), "the feed ended before the fault: it would not land mid-stream"
        job_id = fault(config, job_id)
        sent = feed.assign(TX_DATETIME=pd.to_datetime(sending.result(), unit="ms"))
        _send_bad_events(config)
        flush_event_time(config, int(sent["TX_DATETIME"].max().value // 1_000_000) + 86_400_000, labels=True)
        wait_for_messages(config, config.topics.fraud_scores.name, HISTORY_TX + len(feed), timeout_s=300)
        # A duplicate would come with a later checkpoint's commit: give it one more interval.
        time.sleep(1.5 * config.flink.checkpoint_interval_ms / 1000)
        outcome = _outcome(config)
        sent = pd.concat([history.iloc[:HISTORY_TX], sent])
        if before_cancel is not None:
            before_cancel(job_id)
        return outcome, sent
    finally:
        if rest.job(job_id)["state"] not in ("FINISHED", "CANCELED", "FAILED"):
            rest.cancel(job_id)
        drop_topics(config)
        client = connect(config)
        for key in client.scan_iter(f"{config.redis.key_prefix}*", count=1000):
            client.delete(key)


def assert_as_without_fault(config: Config, outcome: Outcome, sent: pd.DataFrame) -> None:
    """What a fault-free run gives: every transaction sent scored once (checked as the outcome is
    read), the live ones with the batch reference's features on the events as sent, the alerts
    exactly the scores at or above the threshold, nothing but the corpus' bad events in
    dead-letter, and each card's latest score in Redis."""
    assert sorted(outcome.features["TRANSACTION_ID"]) == sorted(sent["TRANSACTION_ID"]), "transactions lost"
    live = outcome.features[outcome.features["TRANSACTION_ID"] >= LIVE_IDS_FROM]
    reference = transform(sent[sent["TRANSACTION_ID"] >= LIVE_IDS_FROM], delay_days=LABEL_DELAY_MS / 86_400_000)
    expected = reference.set_index("TRANSACTION_ID").loc[live["TRANSACTION_ID"]]
    for name, column in STREAM_COLUMNS.items():
        np.testing.assert_allclose(live[column].to_numpy(float), expected[name].to_numpy(float),
                                   rtol=1e-9, atol=0, err_msg=name)
    threshold = config.fraud.alert_threshold
    assert outcome.alerts == {tx for tx, score in outcome.scores.items() if score >= threshold}
    assert outcome.dead_letters == Counter(case["code"] for case in bad_cases({"transactions"}))
    # Sent in order of event time, so a card's last row is its latest (ties: the later offset).
    latest = sent.groupby("CUSTOMER_ID").tail(1)
    assert len(outcome.redis) == len(latest)
    for customer, tx in zip(latest["CUSTOMER_ID"], latest["TRANSACTION_ID"].astype(str)):
        stored = outcome.redis[f"fraud:customer:{customer}"]
        assert stored["transaction_id"] == tx
        assert float(stored["score"]) == pytest.approx(outcome.scores[tx], abs=1e-12)


def _send_bad_events(config: Config) -> None:
    """After the feed: stamped at its start, they are behind the watermark, but a validation
    error comes before lateness, so each is refused for its own reason whatever the timing."""
    sender = producer(config, **{"message.max.bytes": config.topics.transactions.max_message_bytes})
    for case in bad_cases({"transactions"}):
        sender.produce(config.topics.transactions.name, case_payload(case), b"c0", timestamp=case["record_timestamp_ms"])
    assert sender.flush(30) == 0


def _outcome(config: Config) -> Outcome:
    scores = [s for s in read_json(config, config.topics.fraud_scores.name)
              if not s["transaction_id"].startswith("sentinel")]
    counts = Counter(s["transaction_id"] for s in scores)
    duplicated = [tx for tx, n in counts.items() if n > 1]
    assert not duplicated, f"{len(duplicated)} transactions scored more than once, e.g. {duplicated[:5]}"
    features = pd.DataFrame(read_json(config, config.topics.fraud_features.name))
    features = features[~features["transaction_id"].str.startswith("sentinel")]
    features = features.assign(TRANSACTION_ID=features["transaction_id"].astype(int))
    assert features["TRANSACTION_ID"].is_unique and len(features) == len(scores)
    letters = read_json(config, config.topics.dead_letter.name)
    client = connect(config, decode_responses=True)
    prefix = config.redis.key_prefix
    hashes = {key.removeprefix(prefix): client.hgetall(key)
              for key in client.scan_iter(f"{prefix}fraud:customer:*", count=1000)}
    return Outcome(scores={s["transaction_id"]: s["score"] for s in scores}, features=features,
                   alerts=frozenset(a["transaction_id"] for a in read_json(config, config.topics.fraud_alerts.name)),
                   dead_letters=Counter(letter["error"].split(":")[0] for letter in letters),
                   redis=hashes)
