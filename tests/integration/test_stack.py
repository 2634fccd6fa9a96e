"""`streamscore stack` against the real services."""

import json
import subprocess
import sys

import pytest

from connectors.kafka import count_messages, ensure_topics
from connectors.redis import connect
from fraud.events import fraud_events
from fraud.simulator import SimulationParams, simulate
from streaming.producers import Publisher
from streaming.stack import stack_down, stack_status, stack_up

pytestmark = pytest.mark.stack


def cli(*args):
    return subprocess.run([sys.executable, "-m", "streaming.cli", *args], capture_output=True, text=True, timeout=300)


def test_status_json_reports_every_part_healthy_with_addresses_and_pids(stack):
    result = cli("stack", "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["kafka"]["bootstrap"] == stack.kafka.bootstrap_servers
    assert status["redis"]["url"] == stack.redis.url
    assert status["flink"]["rest"] == stack.flink.rest_url and len(status["flink"]["taskmanager_pids"]) == 1
    assert status["prometheus"]["url"] == stack.prometheus.url
    assert all(part["healthy"] for part in status.values())


def test_second_up_changes_nothing(stack):
    before = stack_status(stack)
    lines = []
    stack_up(stack, report=lines.append)
    assert all("already running" in line for line in lines)
    after = stack_status(stack)
    assert [after[p].get("pid") for p in after] == [before[p].get("pid") for p in before]


def test_up_restarts_a_part_that_died(stack):
    import os
    import signal
    import time
    pid = stack_status(stack)["redis"]["pid"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    lines = []
    stack_up(stack, report=lines.append)
    assert "redis       started" in lines
    assert stack_status(stack)["redis"]["healthy"]


def test_prometheus_scrapes_the_flink_reporters(stack):
    import time
    import urllib.request
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{stack.prometheus.url}/api/v1/query?query=up%7Bjob%3D%22flink%22%7D") as r:
            results = json.load(r)["data"]["result"]
        if len(results) == 2 and all(x["value"][1] == "1" for x in results):
            return
        time.sleep(2)
    pytest.fail(f"Prometheus does not scrape both Flink reporters: {results}")


@pytest.mark.slow
def test_down_then_up_keeps_topic_data_and_redis_keys(isolated_config):
    config = isolated_config
    frame = simulate(SimulationParams(customers=50, terminals=100, days=3, seed=5))
    with Publisher(config, progress=False) as publisher:
        for chunk in fraud_events(frame, None, config.topics):
            publisher.send(chunk)
    key = f"streamscore-test:{config.topics.transactions.name}"
    client = connect(config)
    client.hset(key, mapping={"score": "0.5"})
    client.close()

    stack_down(config, report=lambda line: None)
    assert not any(part["healthy"] for part in stack_status(config).values())
    stack_up(config, report=lambda line: None)

    assert count_messages(config, config.topics.transactions.name) == len(frame)
    client = connect(config)
    assert client.hgetall(key) == {b"score": b"0.5"}
    client.delete(key)
    ensure_topics(config)
