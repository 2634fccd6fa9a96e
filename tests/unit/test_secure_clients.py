"""Secure mode without services: what each client is told, and the material `stack up --secure` makes."""

from __future__ import annotations

import dataclasses
import stat
import subprocess

import pytest

from connectors.flink_sql import json_kafka_sink, raw_kafka_source
from connectors.kafka import connection_settings
from connectors.redis import connect, redis_hash_sink
from streaming.config import Config
from streaming.errors import ConfigError
from streaming.stack.secure import CLIENT_USER, SecureMaterial, secure_client_config, secure_stack_config

PASSWORD = "s3cret-Value_42"


@pytest.fixture
def secure_config(tmp_path) -> Config:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "kafka").write_text(PASSWORD)
    (secrets / "redis").write_text(PASSWORD)
    config = Config()
    return dataclasses.replace(
        config,
        kafka=dataclasses.replace(config.kafka, security_protocol="SASL_SSL", username="svc",
                                  password_file=str(secrets / "kafka"), ca_file=str(secrets / "ca.pem")),
        redis=dataclasses.replace(config.redis, url="rediss://127.0.0.1:6380/0", username="svc",
                                  password_file=str(secrets / "redis"), ca_file=str(secrets / "ca.pem")))


def test_plaintext_clients_get_no_login():
    assert connection_settings(Config()) == {"bootstrap.servers": "127.0.0.1:9092", "security.protocol": "PLAINTEXT"}


def test_kafka_clients_log_in_with_the_password_file_and_verify_the_broker(secure_config):
    settings = connection_settings(secure_config)
    assert settings["security.protocol"] == "SASL_SSL"
    assert (settings["sasl.mechanisms"], settings["sasl.username"], settings["sasl.password"]) == (
        "SCRAM-SHA-512", "svc", PASSWORD)
    assert settings["ssl.ca.location"] == secure_config.kafka.ca_file
    assert settings["ssl.endpoint.identification.algorithm"] == "https"


def test_a_password_file_ending_in_a_newline_is_refused(secure_config):
    with open(secure_config.kafka.password_file, "a") as file:
        file.write("\n")
    with pytest.raises(ConfigError, match="ends with a newline"):
        connection_settings(secure_config)


def test_a_missing_password_file_is_a_one_line_config_error(secure_config, tmp_path):
    config = dataclasses.replace(secure_config, kafka=dataclasses.replace(
        secure_config.kafka, password_file=str(tmp_path / "absent")))
    with pytest.raises(ConfigError, match="cannot read the secret file kafka.password_file"):
        connection_settings(config)


def test_flink_kafka_tables_name_the_password_file_never_the_password(secure_config):
    topic = secure_config.topics.transactions
    for ddl in (raw_kafka_source("t", topic, secure_config, group_id="g"),
                json_kafka_sink("s", topic, secure_config, "a STRING", "a", transactional_id_prefix="p")):
        assert PASSWORD not in ddl
        assert "'properties.security.protocol' = 'SASL_SSL'" in ddl
        assert "'properties.sasl.mechanism' = 'SCRAM-SHA-512'" in ddl
        # The connector jar relocates kafka-clients: the login module must be the relocated one.
        assert ("org.apache.flink.kafka.shaded.org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="svc" password="${{secretfile:{secure_config.kafka.password_file.rsplit("/", 1)[0]}:kafka}}";'
                in ddl)
        assert f"'properties.ssl.truststore.location' = '{secure_config.kafka.ca_file}'" in ddl
        assert "'properties.ssl.truststore.type' = 'PEM'" in ddl


def test_plaintext_flink_kafka_tables_have_no_security_options():
    ddl = raw_kafka_source("t", Config().topics.transactions, Config(), group_id="g")
    assert "security" not in ddl and "sasl" not in ddl


def test_redis_sink_reads_its_password_from_the_file_at_open(secure_config):
    ddl = redis_hash_sink("r", secure_config, "k STRING, v BIGINT", key="x:{k}", version_fields="v")
    assert PASSWORD not in ddl
    assert "'url' = 'rediss://127.0.0.1:6380/0'" in ddl
    assert "'user' = 'svc'" in ddl
    assert f"'password-file' = '{secure_config.redis.password_file}'" in ddl
    assert f"'tls.ca-file' = '{secure_config.redis.ca_file}'" in ddl


def test_redis_client_logs_in_over_verified_tls(secure_config):
    kwargs = connect(secure_config).connection_pool.connection_kwargs
    assert (kwargs["username"], kwargs["password"]) == ("svc", PASSWORD)
    assert kwargs["ssl_ca_certs"] == secure_config.redis.ca_file
    assert kwargs["ssl_check_hostname"] is True


def test_secure_stack_runs_in_its_own_folder_with_clients_pointed_at_its_material(tmp_path):
    config = dataclasses.replace(Config(), stack=dataclasses.replace(Config().stack, run_dir=str(tmp_path)))
    secure = secure_stack_config(config)
    assert secure.stack.secure and secure.stack.run_dir == str(tmp_path / "secure")
    secrets = tmp_path / "secure" / "secrets"
    assert (secure.kafka.security_protocol, secure.kafka.username) == ("SASL_SSL", CLIENT_USER)
    assert secure.kafka.password_file == str(secrets / f"kafka-{CLIENT_USER}.password")
    assert secure.redis.url == "rediss://127.0.0.1:6379/0"
    assert secure.redis.ca_file == secure.kafka.ca_file == str(secrets / "ca.pem")
    assert secure_stack_config(secure) == secure
    assert secure_client_config(config) == config


def test_material_is_private_verifiable_and_kept_across_calls(tmp_path):
    material = SecureMaterial(tmp_path / "secrets")
    material.ensure()
    password = material.password("kafka", CLIENT_USER)
    material.ensure()
    assert material.password("kafka", CLIENT_USER) == password and len(password) >= 32
    for secret in [material.server_key, material.kafka_keystore, *material.dir.glob("*.password"),
                   *material.dir.glob("*.key")]:
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
    assert stat.S_IMODE(material.dir.stat().st_mode) == 0o700
    for host in ("-verify_ip", "127.0.0.1"), ("-verify_hostname", "localhost"):
        subprocess.run(["openssl", "verify", "-CAfile", str(material.ca), *host, str(material.server_cert)],
                       check=True, capture_output=True)
    wrong = subprocess.run(["openssl", "verify", "-CAfile", str(material.ca), "-verify_hostname", "example.com",
                            str(material.server_cert)], capture_output=True)
    assert wrong.returncode != 0
