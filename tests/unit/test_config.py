import pytest

from streaming.config import Config, from_dict, load_config, to_toml
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


def test_a_fraction_for_a_whole_number_setting_is_refused_not_truncated(tmp_path):
    path = tmp_path / "fraction.toml"
    path.write_text("[flink]\nparallelism = 2.5\n")
    with pytest.raises(ConfigError, match="config flink.parallelism must be int, got 2.5"):
        load_config(path, env={})


def test_a_label_delay_of_seconds_survives_the_trip_to_a_job():
    config = load_config(env={"STREAMSCORE_FRAUD__LABEL_DELAY_DAYS": str(5_000 / 86_400_000)})
    assert round(from_dict(config.to_dict()).fraud.label_delay_days * 86_400_000) == 5_000


def test_config_survives_the_trip_to_a_job_as_a_dict():
    config = load_config(env={"STREAMSCORE_TOPICS__TRANSACTIONS__NAME": "tx-test"})
    assert from_dict(config.to_dict()) == config


def test_kafka_and_redis_logins_load_from_file_and_environment(tmp_path):
    path = tmp_path / "streamscore.toml"
    path.write_text('[kafka]\nsecurity_protocol = "SASL_SSL"\nusername = "svc"\nca_file = "/etc/ca.pem"\n'
                    '[redis]\nurl = "rediss://r:6380/0"\nusername = "svc"\n')
    config = load_config(path, env={"STREAMSCORE_KAFKA__PASSWORD_FILE": "/run/secrets/kafka",
                                    "STREAMSCORE_REDIS__PASSWORD_FILE": "/run/secrets/redis"})
    assert (config.kafka.security_protocol, config.kafka.sasl_mechanism, config.kafka.username) == (
        "SASL_SSL", "SCRAM-SHA-512", "svc")
    assert config.kafka.password_file == "/run/secrets/kafka"
    assert (config.redis.url, config.redis.username, config.redis.password_file) == (
        "rediss://r:6380/0", "svc", "/run/secrets/redis")
    assert from_dict(config.to_dict()) == config


@pytest.mark.parametrize("section", ["kafka", "redis"])
def test_a_password_in_config_is_refused_with_the_file_setting_to_use(tmp_path, section):
    path = tmp_path / "streamscore.toml"
    path.write_text(f'[{section}]\npassword = "hunter2"\n')
    with pytest.raises(ConfigError, match=f"{section}.password is not accepted.*{section}.password_file"):
        load_config(path, env={})
    with pytest.raises(ConfigError, match=f"{section}.password is not accepted"):
        load_config(env={f"STREAMSCORE_{section.upper()}__PASSWORD": "hunter2"})


@pytest.mark.parametrize("env, message", [
    ({"STREAMSCORE_KAFKA__SECURITY_PROTOCOL": "SSL"}, "kafka.security_protocol must be one of PLAINTEXT, SASL_SSL"),
    ({"STREAMSCORE_KAFKA__SASL_MECHANISM": "PLAIN"}, "kafka.sasl_mechanism must be one of"),
    ({"STREAMSCORE_KAFKA__SECURITY_PROTOCOL": "SASL_SSL", "STREAMSCORE_KAFKA__USERNAME": "svc"},
     "SASL_SSL needs kafka.username, kafka.password_file and kafka.ca_file"),
])
def test_incomplete_or_unknown_kafka_security_is_a_config_error(env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(env=env)


def test_config_written_as_toml_loads_back_unchanged(tmp_path):
    config = load_config(env={"STREAMSCORE_KAFKA__PRODUCER__LINGER.MS": "5",
                              "STREAMSCORE_REDIS__KEY_PREFIX": 'say "hi":\\'})
    path = tmp_path / "written.toml"
    path.write_text(to_toml(config))
    assert load_config(path, env={}) == config
