"""Real faults on the real stack, each against a fault-free run of the same input.

Every run feeds the fraud job the same two days of transactions, their labels (a day later) and
the corpus' bad events, at a steady rate, so the fault lands mid-stream: some scores are already
committed and more are coming. Whatever the fault, a reader of the outputs must see what the
fault-free run gave: one committed score per transaction with the same value, the same alerts,
the same dead letters by reason, and the same Redis hashes.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest

from connectors.kafka import count_messages, producer
from connectors.redis import connect
from fraud.events import fraud_events
from streaming.config import Config
from streaming.bench.processes import descendants
from streaming.flink_client import FlinkRest, submit_job
from streaming.producers import Publisher
from streaming.stack.services import FlinkCluster, KafkaBroker, RedisServer
from tests.support.cases import bad_cases, case_payload
from tests.support.stack import drop_topics, flush_event_time, isolated, read_json, wait_for_messages, with_registry

pytestmark = [pytest.mark.stack, pytest.mark.slow]

LABEL_DELAY_DAYS = 1
RATE_TX_PER_S = 800  # two days of the simulator (about 19,000 transactions) in about 25 s
SECOND_CLUSTER = "http://127.0.0.1:8091"
Fault = Callable[[Config, str], str]  # (config, running job id) → the job id that runs on


@dataclass(frozen=True)
class Outcome:
    """What a reader of the job's outputs sees once the input is processed."""

    scores: dict[str, float]
    alerts: frozenset[str]
    dead_letters: Counter
    redis: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def feed(history) -> pd.DataFrame:
    return history[history["TX_DATETIME"] < "2018-04-03"]


@pytest.fixture(scope="module")
def fault_free(stack, model_registry, feed) -> Outcome:
    return run_fraud_job(stack, model_registry, feed, "fault-free", fault=None)


def kill_taskmanager(config: Config, job_id: str) -> str:
    """SIGKILL the TaskManager; start a new one (which first kills the Python workers the old one
    may have left behind)."""
    flink = FlinkCluster(config)
    os.kill(flink.status()["taskmanager_pids"][0], signal.SIGKILL)
    _wait(lambda: not flink.healthy(), "the killed TaskManager to be gone")
    flink.start()
    _wait(lambda: FlinkRest(config.flink.rest_url).exceptions(job_id), "the job to fail over")
    return job_id


def restart_broker(config: Config, job_id: str) -> str:
    broker = KafkaBroker(config)
    broker.stop()
    broker.start()
    return job_id


def stop_redis_for_20_s(config: Config, job_id: str) -> str:
    server = RedisServer(config)
    server.stop()
    time.sleep(20)
    server.start()
    return job_id


def kill_python_worker(config: Config, job_id: str) -> str:
    """SIGKILL one Python worker of the TaskManager (the process running the model)."""
    taskmanager = FlinkCluster(config).status()["taskmanager_pids"][0]
    workers = [pid for pid in descendants(taskmanager) if b"pyflink.fn_execution.beam.beam_boot" in _cmdline(pid)]
    assert workers, "no Python worker runs under the TaskManager"
    os.kill(workers[0], signal.SIGKILL)
    _wait(lambda: FlinkRest(config.flink.rest_url).exceptions(job_id), "the job to fail over")
    return job_id


def stop_with_savepoint_and_resume(config: Config, job_id: str) -> str:
    """An upgrade: ``job savepoint --stop``, then ``job submit --from-savepoint``."""
    location = FlinkRest(config.flink.rest_url).savepoint(job_id, stop=True)
    return submit_job(config, "fraud", savepoint=location)


@pytest.mark.parametrize("fault", [kill_taskmanager, restart_broker, stop_redis_for_20_s, kill_python_worker,
                                   stop_with_savepoint_and_resume], ids=lambda fault: fault.__name__)
def test_a_fault_mid_stream_changes_nothing_a_reader_sees(stack, model_registry, feed, fault_free, fault):
    outcome = run_fraud_job(stack, model_registry, feed, fault.__name__, fault)
    assert_same(outcome, fault_free)


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


def test_a_job_submitted_to_another_cluster_survives_losing_one_of_two_taskmanagers(
        stack, model_registry, feed, fault_free, second_cluster):
    """``job submit --cluster URL`` at parallelism 2 over two TaskManagers; one is killed and not
    replaced: the job recovers from its checkpoint on the other (it has slots for both subtasks),
    then stops with a savepoint."""
    rest = FlinkRest(SECOND_CLUSTER)
    taskmanagers = FlinkCluster(second_cluster).taskmanagers
    ran_on = {}

    def kill_one_taskmanager(config: Config, job_id: str) -> str:
        ran_on["before"] = rest.taskmanagers(job_id)
        os.kill(taskmanagers[0].pid, signal.SIGKILL)
        _wait(lambda: rest.exceptions(job_id), "the job to fail over")
        return job_id

    def stop_with_savepoint(job_id: str) -> None:
        ran_on["after"] = rest.taskmanagers(job_id)
        ran_on["savepoint"] = rest.savepoint(job_id, stop=True)
        rest.wait_for_state(job_id, {"FINISHED"})

    outcome = run_fraud_job(stack, model_registry, feed, "second-cluster", kill_one_taskmanager,
                            cluster=SECOND_CLUSTER, before_cancel=stop_with_savepoint)
    assert ran_on["before"] == {"taskmanager-0", "taskmanager-1"}
    assert ran_on["after"] == {"taskmanager-1"}
    assert_same(outcome, fault_free)
    assert Path(urlparse(ran_on["savepoint"]).path, "_metadata").is_file()
    assert [job["state"] for job in rest.jobs()] == ["FINISHED"]


def assert_same(outcome: Outcome, reference: Outcome) -> None:
    assert outcome.scores.keys() == reference.scores.keys()
    differing = {tx: (outcome.scores[tx], score) for tx, score in reference.scores.items()
                 if abs(outcome.scores[tx] - score) > 1e-9}
    assert not differing, f"{len(differing)} scores differ, e.g. {list(differing.items())[:3]}"
    assert outcome.alerts == reference.alerts
    assert outcome.dead_letters == reference.dead_letters
    assert outcome.redis == reference.redis


def run_fraud_job(stack: Config, registry: str, feed: pd.DataFrame, name: str, fault: Fault | None,
                  cluster: str | None = None, before_cancel: Callable[[str], None] | None = None) -> Outcome:
    """Feed the job at a steady rate; inject ``fault`` once scores are committed; collect the outputs.

    The job runs on the stack's Flink, or on the one at ``cluster``; ``before_cancel`` gets the
    id of the job once its outputs are read, while it still runs."""
    config = with_registry(isolated(stack, f"faults-{name}"), registry)
    config = dataclasses.replace(config, fraud=dataclasses.replace(config.fraud, label_delay_days=LABEL_DELAY_DAYS))
    bad = bad_cases({"transactions"})
    rest = FlinkRest(cluster or config.flink.rest_url)
    job_id = submit_job(config, "fraud", cluster=cluster)
    try:
        rest.wait_until_running(job_id)
        publisher = threading.Thread(target=_publish, args=(config, feed), daemon=True)
        publisher.start()
        if fault is not None:
            _wait(lambda: count_messages(config, config.topics.fraud_scores.name) > 0, "the first committed scores")
            assert publisher.is_alive(), "the feed ended before the fault: it would not land mid-stream"
            job_id = fault(config, job_id)
        publisher.join()
        _send_bad_events(config, bad)
        flush_event_time(config, int(feed["TX_DATETIME"].max().value // 1_000_000) + 86_400_000, labels=True)
        wait_for_messages(config, config.topics.fraud_scores.name, len(feed), timeout_s=300)
        # A duplicate would come with a later checkpoint's commit: give it one more interval.
        time.sleep(1.5 * config.flink.checkpoint_interval_ms / 1000)
        outcome = _outcome(config, feed)
        if fault is None:
            assert not rest.exceptions(job_id), "the fault-free run failed over"
        if before_cancel is not None:
            before_cancel(job_id)
        return outcome
    finally:
        if rest.job(job_id)["state"] not in ("FINISHED", "CANCELED", "FAILED"):
            rest.cancel(job_id)
        drop_topics(config)
        client = connect(config)
        for key in client.scan_iter(f"{config.redis.key_prefix}*", count=1000):
            client.delete(key)


def _publish(config: Config, feed: pd.DataFrame) -> None:
    with Publisher(config, rate=RATE_TX_PER_S, progress=False, counted_topic=config.topics.transactions.name) as out:
        for chunk in fraud_events(feed, LABEL_DELAY_DAYS * 86_400_000, config.topics):
            out.send(chunk)
    assert out.failed == 0, out.first_error


def _send_bad_events(config: Config, cases: list[dict]) -> None:
    """After the feed: stamped at its start, they are behind the watermark, but a validation
    error comes before lateness, so each is refused for its own reason whatever the timing."""
    sender = producer(config, **{"message.max.bytes": config.topics.transactions.max_message_bytes})
    for case in cases:
        sender.produce(config.topics.transactions.name, case_payload(case), b"c0", timestamp=case["record_timestamp_ms"])
    assert sender.flush(30) == 0


def _outcome(config: Config, feed: pd.DataFrame) -> Outcome:
    scores = [s for s in read_json(config, config.topics.fraud_scores.name) if not s["transaction_id"].startswith("sentinel")]
    counts = Counter(s["transaction_id"] for s in scores)
    duplicated = [tx for tx, n in counts.items() if n > 1]
    assert not duplicated, f"{len(duplicated)} transactions scored more than once, e.g. {duplicated[:5]}"
    assert len(counts) == len(feed), f"{len(counts)} of {len(feed)} transactions scored"
    alerts = read_json(config, config.topics.fraud_alerts.name)
    letters = read_json(config, config.topics.dead_letter.name)
    client = connect(config, decode_responses=True)
    prefix = config.redis.key_prefix
    hashes = {key.removeprefix(prefix): {f: v for f, v in client.hgetall(key).items() if f != "_written_ms"}
              for key in client.scan_iter(f"{prefix}fraud:customer:*", count=1000)}
    return Outcome(scores={s["transaction_id"]: s["score"] for s in scores},
                   alerts=frozenset(a["transaction_id"] for a in alerts),
                   dead_letters=Counter(letter["error"].split(":")[0] for letter in letters),
                   redis=hashes)


def _wait(check: Callable[[], bool], what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def _cmdline(pid: int) -> bytes:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return b""
