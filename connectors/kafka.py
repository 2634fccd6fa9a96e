"""Kafka clients for the CLI, producers, tests and benchmarks (confluent-kafka / librdkafka).

Clients are created on demand, never at import; every factory merges the user's settings over
safe defaults (idempotent producer, committed reads).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

from streaming.config import Config, TopicConfig
from streaming.errors import ServiceUnavailable, UserError
from streaming.secret_files import read_secret

log = logging.getLogger(__name__)

# librdkafka logs transient conditions (a coordinator still loading, a purged admin queue) to
# stderr; only errors are worth a user's attention.
CLIENT_DEFAULTS = {"log_level": 3}
PRODUCER_DEFAULTS = {
    **CLIENT_DEFAULTS,
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 20,
    "batch.size": 1_000_000,
    "compression.type": "lz4",
    "queue.buffering.max.messages": 1_000_000,
}


def connection_settings(config: Config) -> dict:
    """Where the broker is and how to log in: every client's settings start from these.

    With ``kafka.security_protocol = SASL_SSL`` the broker's certificate is verified against
    ``kafka.ca_file`` (hostname included) and the password is read from ``kafka.password_file``.
    """
    kafka = config.kafka
    settings = {"bootstrap.servers": kafka.bootstrap_servers, "security.protocol": kafka.security_protocol}
    if kafka.security_protocol == "SASL_SSL":
        settings.update({
            "sasl.mechanisms": kafka.sasl_mechanism,
            "sasl.username": kafka.username,
            "sasl.password": read_secret(kafka.password_file, "kafka.password_file"),
            "ssl.ca.location": kafka.ca_file,
            "ssl.endpoint.identification.algorithm": "https",
        })
    return settings


def admin_client(config: Config) -> AdminClient:
    return AdminClient({**CLIENT_DEFAULTS, **connection_settings(config)})


def producer(config: Config, **overrides) -> Producer:
    """An idempotent producer; ``config.kafka.producer`` and ``overrides`` win over defaults."""
    settings = {**PRODUCER_DEFAULTS, **config.kafka.producer, **overrides, **connection_settings(config)}
    return Producer(settings)


def consumer(config: Config, group_id: str, **overrides) -> Consumer:
    """A consumer that only sees committed records (what users of exactly-once sinks see)."""
    settings = {**CLIENT_DEFAULTS, "group.id": group_id, "auto.offset.reset": "earliest",
                "enable.auto.commit": False, "isolation.level": "read_committed",
                **overrides, **connection_settings(config)}
    return Consumer(settings)


def check_reachable(config: Config, timeout_s: float = 5.0) -> None:
    """Raise ServiceUnavailable with one clear line when no broker answers."""
    try:
        admin_client(config).list_topics(timeout=timeout_s)
    except KafkaException:
        raise ServiceUnavailable(
            f"Kafka is not reachable at {config.kafka.bootstrap_servers} "
            "(start it with `streamscore stack up`)") from None


def ensure_topics(config: Config, topics: Iterable[TopicConfig] | None = None,
                  timeout_s: float = 15.0) -> list[str]:
    """Create the configured topics that do not exist yet; returns the names created.

    Topics that exist are left as they are, whatever their settings: on a shared cluster they may
    be another team's choice. ``alter_topics`` changes them when the user asks
    (``streamscore topic alter``).
    """
    topics = list(topics or config.topics.all())
    admin = admin_client(config)
    missing = [t for t in topics if t.name not in _existing(admin, config, timeout_s)]
    created = []
    if missing:
        futures = admin.create_topics([
            NewTopic(t.name, num_partitions=t.partitions, replication_factor=config.kafka.replication_factor,
                     config=_settings(t)) for t in missing])
        for name, future in futures.items():
            try:
                future.result(timeout_s)
                created.append(name)
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise
    return created


def alter_topics(config: Config, topics: Iterable[TopicConfig], timeout_s: float = 15.0) -> None:
    """Bring existing topics' retention, message size and timestamp type to the configured values
    (partitions are never changed: keys would move to other partitions)."""
    admin = admin_client(config)
    topics = list(topics)
    absent = [t.name for t in topics if t.name not in _existing(admin, config, timeout_s)]
    if absent:
        raise UserError(f"no such topic: {', '.join(absent)} (create it with `streamscore topic create`)")
    changes = [ConfigResource(ConfigResource.Type.TOPIC, t.name, incremental_configs=[
        ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET) for key, value in _settings(t).items()])
        for t in topics]
    for future in admin.incremental_alter_configs(changes).values():
        future.result(timeout_s)


def _existing(admin: AdminClient, config: Config, timeout_s: float) -> set[str]:
    try:
        return set(admin.list_topics(timeout=timeout_s).topics)
    except KafkaException:
        raise ServiceUnavailable(f"Kafka is not reachable at {config.kafka.bootstrap_servers}") from None


def _settings(topic: TopicConfig) -> dict[str, str]:
    return {"retention.ms": str(topic.retention_ms), "retention.bytes": str(topic.retention_bytes),
            "max.message.bytes": str(topic.max_message_bytes), "message.timestamp.type": topic.timestamp_type}


def end_offsets(config: Config, topic: str, timeout_s: float = 10.0) -> dict[int, int]:
    """The high watermark of every partition of ``topic`` (committed and uncommitted records)."""
    probe = consumer(config, group_id="streamscore-offsets", **{"isolation.level": "read_uncommitted"})
    try:
        partitions = probe.list_topics(topic, timeout=timeout_s).topics[topic].partitions
        return {p: probe.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)[1]
                for p in partitions}
    finally:
        probe.close()


def newest_messages(config: Config, topic: str, timeout_s: float = 10.0) -> list:
    """The last message of each partition of ``topic`` that has one (committed or not)."""
    probe = consumer(config, group_id=f"streamscore-newest-{uuid.uuid4()}", **{"isolation.level": "read_uncommitted"})
    try:
        newest = []
        for partition, end in end_offsets(config, topic, timeout_s).items():
            begin = probe.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)[0]
            if end <= begin:
                continue
            probe.assign([TopicPartition(topic, partition, end - 1)])
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                message = probe.poll(0.5)
                if message is not None and not message.error():
                    newest.append(message)
                    break
        return newest
    finally:
        probe.close()


def read_topic(config: Config, topic: str, idle_timeout_s: float = 5.0,
               max_messages: int | None = None, **overrides) -> Iterator:
    """Yield every committed message of ``topic`` from the beginning until none arrive for a while.

    A throwaway consumer group is used and nothing is committed, so reading changes no offsets.
    """
    reader = consumer(config, group_id=f"streamscore-read-{uuid.uuid4()}", **overrides)
    reader.subscribe([topic])
    seen = 0
    last = time.monotonic()
    try:
        while time.monotonic() - last < idle_timeout_s:
            batch = reader.consume(10_000, timeout=0.5)
            for message in batch:
                if message.error():
                    continue
                yield message
                seen += 1
                if max_messages is not None and seen >= max_messages:
                    return
            if batch:
                last = time.monotonic()
    finally:
        reader.close()



def count_messages(config: Config, topic: str, timeout_s: float = 120.0) -> int:
    """Count the committed messages of ``topic`` by reading it to its end with a consumer."""
    reader = consumer(config, group_id=f"streamscore-count-{uuid.uuid4()}")
    try:
        metadata = reader.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise ServiceUnavailable(f"topic {topic} does not exist on {config.kafka.bootstrap_servers}")
        ends = {p: reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                for p in metadata.partitions}
        pending = {p for p, (low, high) in ends.items() if high > low}
        reader.assign([TopicPartition(topic, p, ends[p][0]) for p in pending])
        count = 0
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            for message in reader.consume(10_000, timeout=0.5):
                if message.error():
                    continue
                count += 1
                if message.offset() >= ends[message.partition()][1] - 1:
                    pending.discard(message.partition())
            # Transaction markers and aborted records are not delivered: stop at the end offset.
            for tp in reader.position([TopicPartition(topic, p) for p in list(pending)]):
                if tp.offset >= ends[tp.partition][1]:
                    pending.discard(tp.partition)
        return count
    finally:
        reader.close()
