"""Flink SQL tables over Kafka: the DDL every job declares for its sources and sinks.

Sources read raw bytes plus the record's partition, offset and timestamp, so a job can validate
every message itself and send the original bytes to ``dead-letter``. The record timestamp is the
event time; watermarks are generated per partition inside the source. Sinks write JSON with the
record key and timestamp set, exactly once (Kafka transactions) by default.

Example Usage::

    t_env.execute_sql(raw_kafka_source("transactions_raw", config.topics.transactions, config,
                                       group_id="streamscore-fraud"))
"""

from __future__ import annotations

from pathlib import Path

from streaming.config import Config, TopicConfig

EXACTLY_ONCE_TRANSACTION_TIMEOUT_MS = 900_000
# The SQL connector jar relocates kafka-clients: class names inside client settings (the JAAS
# login module, config providers) must name the relocated classes.
SHADED_KAFKA = "org.apache.flink.kafka.shaded.org.apache.kafka"
# The sinks' producers, beneath ``kafka.job_producer``. Lingering 20 ms fills batches; 5 ms made
# every latency figure worse on two cores (more produce requests; docs/performance.md, "Seventh
# round").
SINK_PRODUCER_DEFAULTS = {"linger.ms": "20", "compression.type": "lz4"}


def _options(options: dict[str, str]) -> str:
    return ",\n  ".join(f"'{key}' = '{value}'" for key, value in options.items())


def client_properties(settings: dict[str, str]) -> dict[str, str]:
    """Kafka client settings as the connector's ``properties.*`` options."""
    return {f"properties.{key}": str(value) for key, value in settings.items()}


def kafka_security_options(config: Config) -> dict[str, str]:
    """``properties.*`` options that make the connector's Kafka clients log in like the CLI does.

    The password never enters the DDL (which ends up in the job graph and the client's logs):
    the JAAS line refers to ``kafka.password_file`` through Kafka's DirectoryConfigProvider,
    which each Kafka client resolves on the TaskManager when it connects. The CA is a PEM file,
    which Kafka's Java clients accept as a truststore. Paths are made absolute but links are kept:
    a mounted Kubernetes Secret's files are links that follow each rotation.
    """
    kafka = config.kafka
    if kafka.security_protocol == "PLAINTEXT":
        return {}
    secret = Path(kafka.password_file).absolute()
    module = f"{SHADED_KAFKA}.common.security.scram.ScramLoginModule"
    return {
        "properties.security.protocol": kafka.security_protocol,
        "properties.sasl.mechanism": kafka.sasl_mechanism,
        "properties.config.providers": "secretfile",
        "properties.config.providers.secretfile.class": f"{SHADED_KAFKA}.common.config.provider.DirectoryConfigProvider",
        "properties.sasl.jaas.config": (f'{module} required username="{kafka.username}" '
                                        f'password="${{secretfile:{secret.parent}:{secret.name}}}";'),
        "properties.ssl.truststore.type": "PEM",
        "properties.ssl.truststore.location": str(Path(kafka.ca_file).absolute()),
    }


def raw_kafka_source(table: str, topics: TopicConfig | list[TopicConfig], config: Config, group_id: str,
                     bounded: bool = False) -> str:
    """A Kafka source of raw message values with key, topic, partition, offset and event time.

    Columns: ``kafka_key BYTES, payload BYTES, kafka_topic STRING, kafka_partition INT,
    kafka_offset BIGINT, rowtime TIMESTAMP_LTZ(3)`` (the record timestamp, a watermarked time
    attribute). Several topics in one source share its per-partition watermarks, so rows of one
    topic are never late for an operator that also reads the other.
    """
    topics = topics if isinstance(topics, list) else [topics]
    out_of_orderness = config.flink.max_out_of_orderness_ms
    options = {
        # The Kafka connector, with every partition holding back event time from assignment
        # (jvm/.../kafka/EagerSplitKafkaTableFactory.java): correct watermarks on a backlog.
        "connector": "streamscore-kafka",
        "topic": ";".join(t.name for t in topics),
        "properties.bootstrap.servers": config.kafka.bootstrap_servers,
        "properties.group.id": group_id,
        "properties.auto.offset.reset": "earliest",
        # The connector leaves Kafka's read_uncommitted default; we only read committed data.
        "properties.isolation.level": "read_committed",
        "scan.startup.mode": "group-offsets",
        # Instead of scan.watermark.idle-timeout: a subtask's partitions start holding back event time
        # together when traffic resumes after a quiet period (jvm/.../kafka/SplitIdleness.java).
        "partition.idle-timeout": f"{config.flink.idle_partition_timeout_ms} ms",
        "key.format": "raw",
        "key.fields": "kafka_key",
        "value.format": "raw",
        "value.fields-include": "EXCEPT_KEY",
        **client_properties(config.kafka.job_consumer),
        **kafka_security_options(config),
    }
    if bounded:
        options["scan.bounded.mode"] = "latest-offset"
    # A zero-delay watermark would make a second event with the newest timestamp late, so the
    # bound is at least 1 ms.
    return f"""CREATE TEMPORARY TABLE {table} (
  kafka_key BYTES,
  payload BYTES,
  kafka_topic STRING METADATA FROM 'topic' VIRTUAL,
  kafka_partition INT METADATA FROM 'partition' VIRTUAL,
  kafka_offset BIGINT METADATA FROM 'offset' VIRTUAL,
  rowtime TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  WATERMARK FOR rowtime AS rowtime - INTERVAL '{max(out_of_orderness, 1) / 1000:.3f}' SECOND
) WITH (
  {_options(options)}
)"""


def json_kafka_sink(table: str, topic: TopicConfig, config: Config, columns: str, key_field: str,
                    transactional_id_prefix: str, exactly_once: bool = True) -> str:
    """A Kafka sink of JSON values, keyed by ``key_field``, with the record timestamp set.

    Args:
        columns: the value columns, e.g. ``"transaction_id STRING, score DOUBLE"``; the table
            also gets ``kafka_key BYTES`` (the message key, not in the JSON) and
            ``kafka_timestamp TIMESTAMP_LTZ(3)`` (the record timestamp = the event time).
        key_field: documentation of what the key holds (kept in the DDL as a comment).
        transactional_id_prefix: unique per job and sink; Kafka fences older producers by it.
    """
    options = {
        "connector": "kafka",
        "topic": topic.name,
        "properties.bootstrap.servers": config.kafka.bootstrap_servers,
        "key.format": "raw",
        "key.fields": "kafka_key",
        "value.format": "json",
        "value.fields-include": "EXCEPT_KEY",
        "value.json.encode.decimal-as-plain-number": "true",
        "sink.delivery-guarantee": "exactly-once" if exactly_once else "at-least-once",
        "properties.max.request.size": str(topic.max_message_bytes),
        **client_properties({**SINK_PRODUCER_DEFAULTS, **config.kafka.job_producer}),
        **kafka_security_options(config),
    }
    if exactly_once:
        options["sink.transactional-id-prefix"] = transactional_id_prefix
        options["sink.transaction-naming-strategy"] = "POOLING"
        # Within the broker's transaction.max.timeout.ms, and long enough to span a recovery.
        options["properties.transaction.timeout.ms"] = str(EXACTLY_ONCE_TRANSACTION_TIMEOUT_MS)
    return f"""CREATE TEMPORARY TABLE {table} (
  kafka_key BYTES COMMENT 'message key: {key_field}',
  {columns},
  kafka_timestamp TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'
) WITH (
  {_options(options)}
)"""
