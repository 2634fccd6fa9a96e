"""`streamscore produce` publishes what the contract promises, and fails clearly on bad input."""

import os
import subprocess
import sys

import orjson
import pytest

from connectors.kafka import count_messages, read_topic

pytestmark = pytest.mark.stack


def produce(config, *args):
    env = dict(os.environ)
    env["STREAMSCORE_TOPICS__TRANSACTIONS__NAME"] = config.topics.transactions.name
    env["STREAMSCORE_TOPICS__FRAUD_LABELS__NAME"] = config.topics.fraud_labels.name
    env["STREAMSCORE_TOPICS__NEWS__NAME"] = config.topics.news.name
    return subprocess.run([sys.executable, "-m", "streaming.cli", "produce", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_simulated_transactions_and_their_labels_reach_the_broker(isolated_config):
    result = produce(isolated_config, "transactions", "--count", "10000")
    assert result.returncode == 0, result.stderr
    topics = isolated_config.topics
    assert result.stdout.startswith(
        f"produced 10,000 {topics.transactions.name} and 10,000 {topics.fraud_labels.name}")
    assert count_messages(isolated_config, isolated_config.topics.transactions.name) == 10_000
    assert count_messages(isolated_config, isolated_config.topics.fraud_labels.name) == 10_000


def test_replay_of_a_handbook_file_publishes_every_row(isolated_config, tmp_path):
    from fraud.handbook_format import write_raw
    from fraud.simulator import SimulationParams, simulate
    frame = simulate(SimulationParams(customers=40, terminals=80, days=3, seed=6))
    path = write_raw(frame, tmp_path / "history.parquet")
    result = produce(isolated_config, "transactions", "--from", str(path), "--no-labels")
    assert result.returncode == 0, result.stderr
    sent = [orjson.loads(m.value()) for m in read_topic(isolated_config, isolated_config.topics.transactions.name,
                                                       idle_timeout_s=3)]
    assert sorted(int(e["transaction_id"]) for e in sent) == frame["TRANSACTION_ID"].tolist()


@pytest.mark.parametrize("content", ["not,a,dataset\n1,2,3\n", "\x00\x01 garbage"])
def test_a_bad_from_file_is_one_clear_error(isolated_config, tmp_path, content):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = produce(isolated_config, "transactions", "--from", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"streamscore: error: {path}") and result.stderr.count("\n") == 1


def test_news_from_a_csv(isolated_config, tmp_path):
    path = tmp_path / "news.csv"
    path.write_text('text,entity\n"Nokia shares fell 5 %",NOKIA\n"Profit rose",\n')
    result = produce(isolated_config, "news", "--from", str(path))
    assert result.returncode == 0, result.stderr
    sent = [orjson.loads(m.value()) for m in read_topic(isolated_config, isolated_config.topics.news.name,
                                                       idle_timeout_s=3)]
    sent.sort(key=lambda e: e["id"])
    assert [e["text"] for e in sent] == ["Nokia shares fell 5 %", "Profit rose"]
    assert sent[0]["entity"] == "NOKIA" and "entity" not in sent[1]


def _topic_setting(config, topic: str, key: str) -> str:
    from confluent_kafka.admin import ConfigResource

    from connectors.kafka import admin_client
    admin = admin_client(config)  # kept until the answer is in: a destroyed client cancels it
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return admin.describe_configs([resource])[resource].result(10)[key].value


def test_producing_leaves_an_existing_topics_settings_as_they_are_until_the_user_alters_it(isolated_config):
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

    from connectors.kafka import admin_client
    topic = isolated_config.topics.transactions.name
    theirs = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", "86400000", incremental_operation=AlterConfigOpType.SET)])
    admin = admin_client(isolated_config)
    admin.incremental_alter_configs([theirs])[theirs].result(10)

    result = produce(isolated_config, "transactions", "--count", "100", "--no-labels")
    assert result.returncode == 0, result.stderr
    assert _topic_setting(isolated_config, topic, "retention.ms") == "86400000"

    env = {**os.environ, "STREAMSCORE_TOPICS__TRANSACTIONS__NAME": topic}
    altered = subprocess.run([sys.executable, "-m", "streaming.cli", "topic", "alter", topic],
                             capture_output=True, text=True, env=env, timeout=60)
    assert altered.returncode == 0, altered.stderr
    assert _topic_setting(isolated_config, topic, "retention.ms") == str(isolated_config.topics.transactions.retention_ms)


def test_each_simulator_run_numbers_its_transactions_after_the_last_and_reused_ids_are_reported(isolated_config):
    first = produce(isolated_config, "transactions", "--count", "1000", "--no-labels")
    second = produce(isolated_config, "transactions", "--count", "1000", "--no-labels")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "transaction ids 0–999" in first.stdout and "transaction ids 1,000–1,999" in second.stdout
    sent = [orjson.loads(m.value())["transaction_id"]
            for m in read_topic(isolated_config, isolated_config.topics.transactions.name, idle_timeout_s=3)]
    assert len(set(sent)) == 2000

    again = produce(isolated_config, "transactions", "--count", "500", "--no-labels", "--id-start", "1800")
    assert again.returncode == 0, again.stderr
    assert "200 of them are already on" in again.stdout and "duplicate_event" in again.stdout
