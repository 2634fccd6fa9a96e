"""Secure mode on real services: Kafka over SASL_SSL (SCRAM) and Redis over TLS with an ACL user.

The module starts its own secure Kafka broker and Redis (ports 9192/9193 and 6380, a run folder of
its own, so the plain stack keeps running) with the material ``stack up --secure`` generates, and
stops them at the end. Flink is the plain stack's cluster: the job reaches the secure services
with the secure configuration.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
import redis
from confluent_kafka import Producer

from connectors.kafka import connection_settings, ensure_topics
from connectors.redis import connect
from fraud.simulator import SimulationParams, simulate
from sentiment.news import read_entities, steady_scenario
from streaming.config import PROJECT_ROOT, Config
from streaming.flink_client import JOB_FILES
from streaming.stack.secure import CLIENT_USER, KAFKA_BROKER_USER, SecureMaterial, secure_client_config
from streaming.stack.services import KafkaBroker, RedisServer, http_json
from tests.support.stack import (flush_event_time, flush_news_time, publish_news, publish_transactions,
                                 running_job, wait_for_messages)

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SECURE_KAFKA = "127.0.0.1:9192"
SECURE_CONTROLLER_PORT = 9193
SECURE_REDIS = "redis://127.0.0.1:6380/0"


@pytest.fixture(scope="module")
def secure_stack(stack, tmp_path_factory) -> Config:
    """Secure Kafka and Redis beside the plain stack, with the plain stack's Flink."""
    config = dataclasses.replace(
        stack,
        kafka=dataclasses.replace(stack.kafka, bootstrap_servers=SECURE_KAFKA, controller_port=SECURE_CONTROLLER_PORT),
        redis=dataclasses.replace(stack.redis, url=SECURE_REDIS),
        stack=dataclasses.replace(stack.stack, run_dir=str(tmp_path_factory.mktemp("secure-stack")), secure=True,
                                  start_timeout_s=180))
    config = secure_client_config(config)
    services = [KafkaBroker(config), RedisServer(config)]
    try:
        for service in services:
            service.start()
        ensure_topics(config)
        yield config
    finally:
        for service in reversed(services):
            service.stop()


def kafka_errors(settings: dict, wait_s: float = 10) -> list:
    """The errors a producer with ``settings`` reports while it tries to reach the broker."""
    errors = []
    client = Producer({**settings, "error_cb": errors.append, "log_level": 0})
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and not errors:
        client.poll(0.2)
    client.poll(1.0)  # what follows the first error (e.g. all brokers down)
    return errors


def test_kafka_accepts_the_configured_login(secure_stack):
    errors = kafka_errors(connection_settings(secure_stack), wait_s=3)
    assert errors == []
    client = Producer(connection_settings(secure_stack))
    assert secure_stack.topics.transactions.name in client.list_topics(timeout=10).topics


def test_kafka_refuses_a_wrong_password_and_an_unknown_user(secure_stack):
    for user, password in ((CLIENT_USER, "not-the-password"), ("mallory", "not-the-password")):
        settings = {**connection_settings(secure_stack), "sasl.username": user, "sasl.password": password}
        errors = kafka_errors(settings)
        assert any(e.name() == "_AUTHENTICATION" and "invalid credentials" in e.str() for e in errors), errors
        with pytest.raises(Exception, match="_TRANSPORT|BrokerTransportFailure|transport failure"):
            Producer({**settings, "log_level": 0}).list_topics(timeout=5)


def test_kafka_refuses_a_client_without_credentials(secure_stack):
    errors = kafka_errors({"bootstrap.servers": SECURE_KAFKA})
    assert errors and {e.name() for e in errors} <= {"_TRANSPORT", "_ALL_BROKERS_DOWN"}, errors
    with pytest.raises(Exception, match="transport failure"):
        Producer({"bootstrap.servers": SECURE_KAFKA, "log_level": 0}).list_topics(timeout=5)


def test_kafka_clients_verify_the_broker_certificate(secure_stack):
    """The right password is never sent to a broker whose certificate the client cannot verify."""
    settings = {key: value for key, value in connection_settings(secure_stack).items() if key != "ssl.ca.location"}
    errors = kafka_errors(settings)
    assert any("certificate verify failed" in e.str() for e in errors), errors


def test_kafka_controller_listener_refuses_clients_without_a_certificate(secure_stack):
    settings = {"bootstrap.servers": f"127.0.0.1:{SECURE_CONTROLLER_PORT}", "security.protocol": "SSL",
                "ssl.ca.location": secure_stack.kafka.ca_file}
    errors = kafka_errors(settings)
    assert errors and {e.name() for e in errors} <= {"_TRANSPORT", "_ALL_BROKERS_DOWN", "_SSL"}, errors


def test_redis_accepts_the_configured_login(secure_stack):
    assert connect(secure_stack, socket_timeout=5).ping()


@pytest.mark.parametrize("login, refusal", [
    ({}, "Authentication required"),
    ({"username": CLIENT_USER, "password": "not-the-password"}, "invalid username-password pair"),
    ({"username": "default", "password": ""}, "invalid username-password pair|Authentication required"),
])
def test_redis_refuses_missing_or_wrong_credentials(secure_stack, login, refusal):
    client = redis.Redis.from_url(secure_stack.redis.url, ssl_ca_certs=secure_stack.redis.ca_file,
                                  socket_timeout=5, **login)
    with pytest.raises(redis.AuthenticationError, match=refusal):
        client.ping()


def test_redis_refuses_clients_without_tls(secure_stack):
    plain = secure_stack.redis.url.replace("rediss://", "redis://")
    password = SecureMaterial.of(secure_stack).password("redis", CLIENT_USER)
    client = redis.Redis.from_url(plain, username=CLIENT_USER, password=password, socket_timeout=5)
    with pytest.raises(redis.ConnectionError):
        client.ping()


def test_fraud_job_runs_end_to_end_without_the_passwords_in_logs_or_plan(secure_stack, stack, model_registry):
    config = dataclasses.replace(secure_stack,
                                 inference=dataclasses.replace(secure_stack.inference, registry_dir=model_registry))
    frame = simulate(SimulationParams(customers=60, terminals=120, days=2))
    last_ms = int(frame["TX_DATETIME"].max().value // 1_000_000)
    # Submitted under a name of its own and at parallelism 1, so fraud jobs of other tests may
    # share the cluster (its slots) at the same time.
    with running_job(config, "secure-fraud", job_file=PROJECT_ROOT / "jobs" / JOB_FILES["fraud"],
                     parallelism=1) as job_id:
        publish_transactions(config, frame)
        flush_event_time(config, last_ms + 86_400_000)
        scores = wait_for_messages(config, config.topics.fraud_scores.name, len(frame), timeout_s=300)
        customers = {str(c) for c in frame["CUSTOMER_ID"]}
        redis_client = connect(config, decode_responses=True, socket_timeout=5)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(stored := set(redis_client.scan_iter("fraud:customer:*"))) < len(customers):
            time.sleep(1)
        plan = str(http_json(f"{config.flink.rest_url}/jobs/{job_id}/plan"))
        job_config = str(http_json(f"{config.flink.rest_url}/jobs/{job_id}/config"))

    assert len(scores) == len(frame), f"{len(scores)} of {len(frame)} transactions scored"
    assert sorted(s["transaction_id"] for s in scores) == sorted(str(t) for t in frame["TRANSACTION_ID"])
    assert stored == {f"fraud:customer:{c}" for c in customers}

    material = SecureMaterial.of(config)
    passwords = {material.password("kafka", CLIENT_USER), material.password("kafka", KAFKA_BROKER_USER),
                 material.password("redis", CLIENT_USER)}
    assert not [p for p in passwords if p in plan or p in job_config]
    # Both clusters' logs (Flink, Kafka, Redis, the job client) and the configuration the job was given.
    files = [*(Path(stack.stack.run_dir) / "logs").glob("*"), *(Path(config.stack.run_dir) / "logs").glob("*"),
             *(Path(config.stack.run_dir) / "flink" / "submit").glob("*.json")]
    assert {"flink-taskmanager-0.log", "kafka.log", "secure-fraud-config.json"} <= {f.name for f in files}
    leaked = [f.name for f in files if f.is_file() for p in passwords if p.encode() in f.read_bytes()]
    assert leaked == []


def test_sentiment_job_runs_end_to_end_over_the_secure_services(secure_stack, model_registry):
    config = dataclasses.replace(secure_stack,
                                 inference=dataclasses.replace(secure_stack.inference, registry_dir=model_registry))
    start_ms = 1_767_603_600_000  # 2026-01-05T09:00:00Z, a window boundary
    plan = steady_scenario(read_entities(config.sentiment.entities_file), count=300, seed=5, event_rate=5,
                           start_ms=start_ms)
    texts = plan.documents["text"].str.lower().nunique()
    with running_job(config, "secure-sentiment", job_file=PROJECT_ROOT / "jobs" / JOB_FILES["sentiment"],
                     parallelism=1):
        publish_news(config, plan)
        flush_news_time(config, int(plan.times_ms.max()) + 3 * config.sentiment.window_s * 1000)
        scores = wait_for_messages(config, config.topics.sentiment_scores.name, texts, timeout_s=300)
        redis_client = connect(config, decode_responses=True, socket_timeout=5)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (entities := set(redis_client.scan_iter("sentiment:entity:*"))):
            time.sleep(1)

    assert len([s for s in scores if not s["id"].startswith("flush-")]) == texts
    assert entities, "no entity aggregate reached the secure Redis"

