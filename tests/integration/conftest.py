"""Integration tests run against the real local stack (Kafka, Redis, Flink, Prometheus).

``make test`` starts the stack; the ``stack`` fixture starts it too when pytest is run alone.
Tests that create data get their own topic names (``isolated_config``), so they neither see nor
disturb each other or a running demo.
"""

from __future__ import annotations

import dataclasses

import pytest

from fraud.simulator import SimulationParams, simulate
from inference.training.fraud import build_fraud_model
from inference.training.sentiment import install_shipped_model
from streaming.config import Config, load_config
from streaming.stack import stack_up
from tests.support.stack import drop_topics, isolated, with_registry


@pytest.fixture(scope="session")
def stack() -> Config:
    config = load_config()
    stack_up(config, report=lambda line: None)
    return config


@pytest.fixture
def isolated_config(stack, request) -> Config:
    """The stack's configuration with every topic renamed for this test, created empty."""
    config = isolated(stack, request.node.name)
    yield config
    drop_topics(config)


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
    return with_registry(isolated_config, model_registry)
