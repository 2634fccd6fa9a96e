"""Integration tests run against the real local stack (Kafka, Redis, Flink, Prometheus).

``make test`` starts the stack; the ``stack`` fixture starts it too when pytest is run alone.
Tests that create data get their own topic names (``isolated_config``), so they neither see nor
disturb each other or a running demo.
"""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from connectors.kafka import admin_client, ensure_topics
from fraud.simulator import SimulationParams, simulate
from inference.training.fraud import build_fraud_model
from inference.training.sentiment import install_shipped_model
from streaming.config import Config, TopicsConfig, load_config
from streaming.stack import stack_up

pytestmark = pytest.mark.stack


@pytest.fixture(scope="session")
def stack() -> Config:
    config = load_config()
    stack_up(config, report=lambda line: None)
    return config


@pytest.fixture
def isolated_config(stack, request) -> Config:
    """The stack's configuration with every topic renamed for this test, created empty."""
    suffix = f"{request.node.name[:40]}-{uuid.uuid4().hex[:6]}".replace("[", "-").replace("]", "").replace("_", "-")
    topics = TopicsConfig(**{
        f.name: dataclasses.replace(getattr(stack.topics, f.name), name=f"{getattr(stack.topics, f.name).name}.{suffix}")
        for f in dataclasses.fields(TopicsConfig)})
    config = dataclasses.replace(stack, topics=topics)
    ensure_topics(config)
    yield config
    admin_client(config).delete_topics([t.name for t in topics.all()])


@pytest.fixture(scope="session")
def history():
    """The simulator's default dataset, which the test fraud model is trained on."""
    return simulate(SimulationParams())


@pytest.fixture(scope="session")
def model_registry(stack, tmp_path_factory, history):
    """A registry with both models: fraud trained here, sentiment the shipped one."""
    registry_dir = tmp_path_factory.mktemp("models")
    config = dataclasses.replace(stack, inference=dataclasses.replace(stack.inference, registry_dir=str(registry_dir)))
    build_fraud_model(config)
    install_shipped_model(config)
    return str(registry_dir)


@pytest.fixture
def job_config(isolated_config, model_registry) -> Config:
    """``isolated_config`` with the test registry and its own Redis key prefix."""
    return dataclasses.replace(
        isolated_config,
        inference=dataclasses.replace(isolated_config.inference, registry_dir=model_registry),
        redis=dataclasses.replace(isolated_config.redis, key_prefix=f"{isolated_config.topics.news.name}:"))
