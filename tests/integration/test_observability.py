"""Prometheus, its alert rules and the Grafana dashboards against the real stack and both jobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from connectors.kafka import producer
from fraud.simulator import SimulationParams, simulate
from sentiment.news import read_entities, spike_scenario
from streaming.config import PROJECT_ROOT
from streaming.dashboards import DASHBOARDS, panel_queries, render, substitute
from streaming.report import query_range
from streaming.stack.services import PrometheusServer
from tests.support.stack import (flush_event_time, flush_news_time, publish_news, publish_transactions, running_job,
                                 wait_for_messages)

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def test_promtool_accepts_the_configuration_and_the_rules():
    folder = PROJECT_ROOT / "deploy" / "prometheus"
    for args in (["check", "config", str(folder / "prometheus.yml")],
                 ["check", "rules", *map(str, sorted((folder / "rules").glob("*.yml")))]):
        result = subprocess.run(["promtool", *args], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def alerts(config) -> dict[str, str]:
    with urllib.request.urlopen(f"{config.prometheus.url}/api/v1/alerts", timeout=10) as response:
        return {a["labels"]["alertname"] + "/" + a["labels"].get("job_name", ""): a["state"]
                for a in json.loads(response.read())["data"]["alerts"]}


def wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s")


def test_every_panel_shows_data_and_the_dead_letter_alert_fires_then_resolves(job_config):
    config = job_config
    prometheus = PrometheusServer(config)
    prometheus.write_config()  # the rules of this checkout, even when the stack was started earlier
    urllib.request.urlopen(urllib.request.Request(f"{config.prometheus.url}/-/reload", method="POST"), timeout=10)
    started = time.time()
    window_ms = config.sentiment.window_s * 1000
    transactions = simulate(SimulationParams(days=3))
    plan = spike_scenario(read_entities(config.sentiment.entities_file), count=3600, seed=3, event_rate=10,
                          start_ms=int(started * 1000) - 3_600_000, window_s=config.sentiment.window_s,
                          duplicate_share=0.0)
    env = {**os.environ, "STREAMSCORE_TOPICS__NEWS__NAME": config.topics.news.name}

    with running_job(config, "fraud"), running_job(config, "sentiment"):
        publish_transactions(config, transactions)
        bad = producer(config)  # a few bad transactions, far below the alert threshold
        for i in range(10):
            bad.produce(config.topics.transactions.name, b'{"transaction_id": "broken-%d"}' % i)
        assert bad.flush(30) == 0
        flush_event_time(config, int(transactions["TX_DATETIME"].max().value // 1_000_000) + 86_400_000)
        publish_news(config, plan)
        flush_news_time(config, int(plan.times_ms.max()) + 3 * window_ms)
        # A live producer for the CLI panel: 20 s at 20 documents/s.
        subprocess.run([sys.executable, "-m", "streaming.cli", "produce", "news", "--count", "400", "--rate", "20"],
                       env=env, check=True, capture_output=True, timeout=120)
        wait_for_messages(config, config.topics.sentiment_alerts.name, 1, timeout_s=120)

        # A burst of bad events: the dead-letter rule fires for the sentiment job, then resolves.
        assert alerts(config).get("DeadLetterRateHigh/streamscore_sentiment") != "firing"
        partitions = len(bad.list_topics(config.topics.news.name, timeout=10).topics[config.topics.news.name].partitions)
        for i in range(600):
            bad.produce(config.topics.news.name, b'{"id": "broken-%d", ' % i, partition=i % partitions)
        assert bad.flush(30) == 0
        wait_for(lambda: alerts(config).get("DeadLetterRateHigh/streamscore_sentiment") == "firing", 120,
                 "the dead-letter alert firing")

        # Each query must return data; a series born in the last seconds may wait for a scrape.
        for dashboard in DASHBOARDS:
            for title, expr in panel_queries(render(dashboard.uid)):
                wait_for(lambda: query_range(config, substitute(expr), started, time.time(), 5), 30,
                         f"{dashboard.uid} / {title} showing data ({substitute(expr)})")

        wait_for(lambda: "DeadLetterRateHigh/streamscore_sentiment" not in alerts(config), 180,
                 "the dead-letter alert resolving")
