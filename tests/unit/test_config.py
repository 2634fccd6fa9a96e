import pytest

from streaming.config import Config, from_dict, load_config
from streaming.errors import ConfigError


def test_defaults_name_the_contract_topics():
    topics = Config().topics
    assert [t.name for t in topics.all()][:8] == [
        "transactions", "fraud-labels", "fraud-scores", "fraud-alerts", "news",
        "sentiment-scores", "sentiment-alerts", "dead-letter"]


def test_file_values_override_defaults_and_environment_overrides_file(tmp_path):
    path = tmp_path / "streamscore.toml"
    path.write_text('[fraud]\nalert_threshold = 0.8\n[topics.transactions]\npartitions = 8\n'
                    '[kafka]\nbootstrap_servers = "k:9092"\n')
    config = load_config(path, env={"STREAMSCORE_FRAUD__ALERT_THRESHOLD": "0.9"})
    assert config.fraud.alert_threshold == 0.9
    assert config.kafka.bootstrap_servers == "k:9092"
    assert config.topics.transactions.partitions == 8
    assert config.topics.transactions.name == "transactions"


@pytest.mark.parametrize("env, message", [
    ({"STREAMSCORE_FRAUD__NOPE": "1"}, "unknown config key fraud.nope"),
    ({"STREAMSCORE_FLINK__PARALLELISM": "two"}, "config flink.parallelism must be int"),
    ({"STREAMSCORE_TOPICS__NEWS__COLOR": "red"}, "unknown config key topics.news.color"),
])
def test_bad_settings_name_the_key(env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(env=env)


def test_unreadable_file_is_a_config_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[fraud\n")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(path, env={})


def test_config_survives_the_trip_to_a_job_as_a_dict():
    config = load_config(env={"STREAMSCORE_TOPICS__TRANSACTIONS__NAME": "tx-test"})
    assert from_dict(config.to_dict()) == config
