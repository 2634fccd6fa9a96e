"""The smoke job on the standalone cluster: exact per-minute counts through the whole plumbing."""

import time

import numpy as np
import orjson
import pandas as pd
import pytest

from connectors.kafka import read_topic
from fraud.events import fraud_events
from fraud.handbook_format import RAW_COLUMNS
from streaming.flink_client import FlinkRest, submit_job
from streaming.producers import Publisher

pytestmark = [pytest.mark.stack, pytest.mark.slow]

# Transactions per minute from 2018-04-01 10:00; a last one at 10:10 moves event time past them.
PER_MINUTE = [7, 0, 12, 1, 30]


def transactions() -> pd.DataFrame:
    start = pd.Timestamp("2018-04-01 10:00:00")
    rng = np.random.default_rng(1)
    times = [start + pd.Timedelta(minutes=m, seconds=int(s))
             for m, n in enumerate(PER_MINUTE) for s in np.sort(rng.integers(0, 60, n))]
    times.append(start + pd.Timedelta(minutes=10))
    n = len(times)
    frame = pd.DataFrame({"TRANSACTION_ID": np.arange(n), "TX_DATETIME": times, "CUSTOMER_ID": np.arange(n) % 7,
                          "TERMINAL_ID": np.arange(n) % 5, "TX_AMOUNT": 10.0, "TX_TIME_SECONDS": 0,
                          "TX_TIME_DAYS": 0, "TX_FRAUD": 0, "TX_FRAUD_SCENARIO": 0})
    return frame[RAW_COLUMNS]


def test_smoke_job_counts_each_minute_exactly(isolated_config):
    config = isolated_config
    rest = FlinkRest(config.flink.rest_url)
    job_id = submit_job(config, "smoke", parallelism=2)
    try:
        with Publisher(config, progress=False) as publisher:
            for chunk in fraud_events(transactions(), None, config.topics):
                publisher.send(chunk)
        expected = {f"2018-04-01T10:0{m}:00Z": n for m, n in enumerate(PER_MINUTE) if n}
        counts = {}
        deadline = time.monotonic() + 120
        while counts != expected and time.monotonic() < deadline:
            for message in read_topic(config, config.topics.smoke_counts.name, idle_timeout_s=2):
                window = orjson.loads(message.value())
                assert window["window_start"] not in counts, "a window was counted twice"
                counts[window["window_start"]] = window["transactions"]
                assert message.key().decode() == window["window_start"]
            if counts != expected:
                counts.clear()
                time.sleep(2)
        assert counts == expected
        assert rest.job(job_id)["state"] == "RUNNING"
    finally:
        location = rest.savepoint(job_id, stop=True)
    assert location.startswith("file:")
    assert rest.wait_for_state(job_id, {"FINISHED", "CANCELED"}) == "FINISHED"
