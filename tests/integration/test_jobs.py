"""Submitting jobs: a configuration mistake ends in one clear state, never an endless restart loop."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from connectors.kafka import admin_client
from streaming.flink_client import FlinkRest, submit_job
from streaming.config import TopicsConfig
from streaming.stack.faults import wait_until
from tests.support.stack import drop_topics, with_registry

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def test_a_job_whose_topics_do_not_exist_yet_gets_them_and_runs(stack, model_registry):
    """As a new user would: topics renamed in the configuration, none of them created."""
    suffix = uuid.uuid4().hex[:6]
    topics = TopicsConfig(**{f.name: dataclasses.replace(getattr(stack.topics, f.name),
                                                         name=f"hb-{getattr(stack.topics, f.name).name}-{suffix}")
                             for f in dataclasses.fields(TopicsConfig)})
    config = with_registry(dataclasses.replace(stack, topics=topics), model_registry)
    assert not {t.name for t in topics.all()} & set(admin_client(config).list_topics(timeout=10).topics)
    rest = FlinkRest(config.flink.rest_url)
    job_id = submit_job(config, "fraud")
    try:
        rest.wait_until_running(job_id)
        time.sleep(1.5 * config.flink.checkpoint_interval_ms / 1000)  # the sinks' first transactions
        assert rest.job(job_id)["state"] == "RUNNING"
        assert not rest.exceptions(job_id), rest.failure_cause(job_id)
        assert {t.name for t in topics.all()} <= set(admin_client(config).list_topics(timeout=10).topics)
    finally:
        rest.cancel(job_id)
        drop_topics(config)


def test_a_job_that_fails_in_every_run_ends_failed_with_its_cause_in_job_list(stack, tmp_path):
    config = dataclasses.replace(stack, flink=dataclasses.replace(stack.flink, restart_attempts=2))
    rest = FlinkRest(config.flink.rest_url)
    job_id = submit_job(config, "fails-at-open", job_file=Path(__file__).parent / "jobs" / "fails_at_open.py")
    try:
        assert rest.wait_for_state(job_id, {"FAILED"}, timeout_s=180) == "FAILED"
    finally:
        if rest.job(job_id)["state"] not in ("FINISHED", "CANCELED", "FAILED"):
            rest.cancel(job_id)
    listed = subprocess.run([sys.executable, "-m", "streaming.cli", "job", "list", "--json"],
                            capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert listed.returncode == 0, listed.stderr
    job = next(j for j in json.loads(listed.stdout) if j["id"] == job_id)
    assert job["state"] == "FAILED"
    assert "misconfigured: the model registry /nonexistent has no model" in job["cause"]
