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
