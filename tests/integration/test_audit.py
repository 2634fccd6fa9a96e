"""Every state-changing command leaves exactly one record in the audit topic, whatever its outcome."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys

import pytest

from tests.support.stack import read_json, wait_for_messages

pytestmark = pytest.mark.stack


def cli(config, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ,
           "STREAMSCORE_TOPICS__AUDIT__NAME": config.topics.audit.name,
           "STREAMSCORE_TOPICS__TRANSACTIONS__NAME": config.topics.transactions.name}
    return subprocess.run([sys.executable, "-m", "streaming.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_each_state_changing_command_leaves_one_audit_record_with_its_result(isolated_config):
    transactions = isolated_config.topics.transactions.name
    assert cli(isolated_config, "topic", "create", transactions).returncode == 0
    refused = cli(isolated_config, "job", "cancel", "no-such-job")
    assert refused.returncode == 1
    assert cli(isolated_config, "topic", "alter", transactions).returncode == 0
    assert cli(isolated_config, "topic", "count", transactions).returncode == 0  # reads only: no record

    # Waits for them: on a fresh broker the first consumer group takes seconds to form.
    records = wait_for_messages(isolated_config, isolated_config.topics.audit.name, 3, timeout_s=60)
    assert len(read_json(isolated_config, isolated_config.topics.audit.name)) == 3
    assert [r["action"] for r in records] == ["topic create", "job cancel", "topic alter"]
    assert [r["result"].split(":")[0] for r in records] == ["ok", "error", "ok"]
    error = next(line for line in refused.stderr.splitlines() if line.startswith("streamscore: error: "))
    assert records[1]["result"] == "error: " + error.removeprefix("streamscore: error: ")
    assert records[1]["arguments"]["name"] == "no-such-job"
    assert all(r["user"] == getpass.getuser() and r["principal"] == "User:ANONYMOUS" for r in records)

    tail = cli(isolated_config, "audit", "tail", "--json", "-n", "2")
    assert tail.returncode == 0, tail.stderr
    assert [json.loads(line)["action"] for line in tail.stdout.splitlines()] == ["job cancel", "topic alter"]
