"""One typed configuration object for every part of streamscore.

Loaded once, from built-in defaults, then a TOML file, then ``STREAMSCORE_*`` environment
variables, and passed down; no other module reads the environment.

Example Usage::

    config = load_config()                      # ./streamscore.toml if present
    config = load_config("prod.toml", env={"STREAMSCORE_KAFKA__BOOTSTRAP_SERVERS": "k:9092"})

Environment variables name a field by its path with ``__`` between levels, for example
``STREAMSCORE_FRAUD__ALERT_THRESHOLD=0.8`` or ``STREAMSCORE_TOPICS__TRANSACTIONS__PARTITIONS=8``.
``STREAMSCORE_CONFIG`` names the TOML file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from streaming.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENV_PREFIX = "STREAMSCORE_"
KAFKA_SECURITY_PROTOCOLS = ("PLAINTEXT", "SASL_SSL")
SCRAM_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")
REDIS_MODES = ("standalone", "cluster")


@dataclass(frozen=True)
class TopicConfig:
    """A Kafka topic the product reads or writes."""

    name: str
    partitions: int = 4
    # Kafka's time retention compares record timestamps (the event time) with the wall clock,
    # so a replay of 2018 history would be deleted within minutes: topics are bounded by size
    # per partition by default, and retention_ms is opt-in (-1 = no time limit).
    retention_ms: int = -1
    retention_bytes: int = 1 << 30
    # Room for an oversized event to reach the job and be dead-lettered with a reason, rather
    # than be refused by the broker; dead-letter records carry it base64-encoded (4/3 larger).
    max_message_bytes: int = 2 << 20
    # CreateTime: the record timestamp is the event time (CONTRACT.md). Benchmarks set
    # LogAppendTime on output topics to read when each result was written.
    timestamp_type: str = "CreateTime"


@dataclass(frozen=True)
class TopicsConfig:
    """The topics of CONTRACT.md; each name, partition count and retention is configurable."""

    transactions: TopicConfig = TopicConfig("transactions")
    fraud_labels: TopicConfig = TopicConfig("fraud-labels")
    fraud_scores: TopicConfig = TopicConfig("fraud-scores")
    fraud_alerts: TopicConfig = TopicConfig("fraud-alerts")
    news: TopicConfig = TopicConfig("news")
    sentiment_scores: TopicConfig = TopicConfig("sentiment-scores")
    sentiment_alerts: TopicConfig = TopicConfig("sentiment-alerts")
    dead_letter: TopicConfig = TopicConfig("dead-letter", max_message_bytes=4 << 20)
    smoke_counts: TopicConfig = TopicConfig("smoke-counts", partitions=1)
    # Every transaction's features, when fraud.emit_features is on (parity checks, training logs).
    fraud_features: TopicConfig = TopicConfig("fraud-features")
    # One record per operation on the data flow (connectors/audit.py), in the order they happened.
    audit: TopicConfig = TopicConfig("audit", partitions=1)

    def all(self) -> list[TopicConfig]:
        return [getattr(self, f.name) for f in dataclasses.fields(self)]


@dataclass(frozen=True)
class KafkaConfig:
    """How clients reach Kafka; the local stack starts its broker on this address."""

    bootstrap_servers: str = "127.0.0.1:9092"
    controller_port: int = 9093
    # Copies of each partition of the topics streamscore creates: 1 on the one-broker local stack,
    # 3 on a production cluster. Topics that exist already are never changed.
    replication_factor: int = 1
    # Extra librdkafka settings merged over the producer defaults (e.g. linger.ms).
    producer: dict[str, str] = field(default_factory=dict)
    # Extra Kafka client settings (Java client names, e.g. fetch.min.bytes, linger.ms) merged
    # over the Flink jobs' source and sink defaults (connectors/flink_sql.py).
    job_consumer: dict[str, str] = field(default_factory=dict)
    job_producer: dict[str, str] = field(default_factory=dict)
    # PLAINTEXT, or SASL_SSL: TLS verified against ca_file and a SCRAM login. The password is
    # read from password_file by every client (CLI, Flink connector) and never held in config.
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    username: str = ""
    password_file: str = ""
    ca_file: str = ""

    def __post_init__(self):
        if self.security_protocol not in KAFKA_SECURITY_PROTOCOLS:
            raise ConfigError(f"config kafka.security_protocol must be one of {', '.join(KAFKA_SECURITY_PROTOCOLS)}, "
                              f"got {self.security_protocol!r}")
        if self.sasl_mechanism not in SCRAM_MECHANISMS:
            raise ConfigError(f"config kafka.sasl_mechanism must be one of {', '.join(SCRAM_MECHANISMS)}, "
                              f"got {self.sasl_mechanism!r}")
        if self.security_protocol == "SASL_SSL" and not (self.username and self.password_file and self.ca_file):
            raise ConfigError("config kafka.security_protocol SASL_SSL needs kafka.username, "
                              "kafka.password_file and kafka.ca_file")


@dataclass(frozen=True)
class RedisConfig:
    # rediss:// for TLS, verified against ca_file (the system's CAs when empty). In cluster mode,
    # any one node of the cluster (clients read the slot map from it); the database must be 0.
    url: str = "redis://127.0.0.1:6379/0"
    # standalone: one Redis server. cluster: a Redis Cluster; the jobs' sinks and every redis-py
    # client follow its slot map. The local stack then starts stack.redis_cluster_masters masters
    # at the port of url and the ports after it.
    mode: str = "standalone"
    # An ACL user; its password is read from password_file by every client (redis-py, the JVM
    # sink) and never held in config.
    username: str = ""
    password_file: str = ""
    ca_file: str = ""
    # Prepended to every key (e.g. "staging:"), so several deployments can share one Redis.
    key_prefix: str = ""
    customer_ttl_s: int = 30 * 86_400
    doc_ttl_s: int = 7 * 86_400

    def __post_init__(self):
        if self.mode not in REDIS_MODES:
            raise ConfigError(f"config redis.mode must be one of {', '.join(REDIS_MODES)}, got {self.mode!r}")
        # A cluster has only database 0 (SELECT is refused).
        if self.mode == "cluster" and urlparse(self.url).path.strip("/") not in ("", "0"):
            raise ConfigError(f"config redis.url must name database 0 (or none) in cluster mode, got {self.url}")


@dataclass(frozen=True)
class FlinkConfig:
    rest_url: str = "http://127.0.0.1:8081"
    rpc_port: int = 6123
    taskmanagers: int = 1
    slots_per_taskmanager: int = 4
    parallelism: int = 2
    checkpoint_interval_ms: int = 10_000
    # Maximum time an event may arrive behind the newest event time of its partition; later ones go
    # to dead-letter. Every score waits for it (the median latency moves one for one with it), but a
    # smaller bound drops events of producers that share a partition (docs/performance.md, eighth round).
    max_out_of_orderness_ms: int = 200
    # A partition without events for this long stops holding back event time. Long enough to ride
    # out a broker restart or a backlog read of another topic: a shorter one lets event time run
    # ahead of a quiet topic (fraud labels) whose next events then arrive late.
    idle_partition_timeout_ms: int = 60_000
    # Longest a partly filled network buffer waits before it is sent to the next operator
    # (execution.buffer-timeout.interval). Every shuffle pays it at low rates; full buffers go at once.
    buffer_timeout_ms: int = 10
    # How often sources emit watermarks (pipeline.auto-watermark-interval): the event-time stages
    # take in events when a watermark passes them, so half of this is added to every latency.
    watermark_interval_ms: int = 50
    # A job that fails this many times in a row, none of its runs lasting restart_reset_s, ends
    # FAILED with its cause (`job list`) instead of restarting forever; a fault it recovers from
    # (a lost TaskManager, a broker restart) costs one or two attempts, and a run of restart_reset_s
    # starts the count afresh. Restarts wait 1 s, then twice as long each time, at most 30 s.
    restart_attempts: int = 10
    restart_reset_s: int = 30


@dataclass(frozen=True)
class PrometheusConfig:
    url: str = "http://127.0.0.1:9090"
    flink_metrics_ports: str = "9249-9260"
    # Producers and other long-running CLI commands serve metrics on the first free port here.
    cli_metrics_ports: str = "9270-9279"


@dataclass(frozen=True)
class StackConfig:
    """Where the local single-machine stack keeps its data, logs and pid files."""

    run_dir: str = str(PROJECT_ROOT / ".run")
    jar_dir: str = str(PROJECT_ROOT / ".cache" / "jars")
    kafka_heap: str = "1g"
    jobmanager_memory: str = "1024m"
    taskmanager_memory: str = "4096m"
    start_timeout_s: float = 90.0
    # Kafka over SASL_SSL (SCRAM) and Redis over TLS with an ACL user, from a throwaway CA,
    # certificates and passwords under <run_dir>/secrets (`streamscore stack up --secure`).
    secure: bool = False
    # With redis.mode = "cluster": how many masters (no replicas) the local Redis Cluster has.
    redis_cluster_masters: int = 3

    def __post_init__(self):
        if self.redis_cluster_masters < 1:
            raise ConfigError("config stack.redis_cluster_masters must be at least 1, "
                              f"got {self.redis_cluster_masters}")


@dataclass(frozen=True)
class InferenceConfig:
    """The inference operator: where models live, which device, how batches are bounded."""

    registry_dir: str = str(PROJECT_ROOT / "models")
    device: str = "auto"  # auto | cuda | tensorrt | cpu
    # auto (the model's own default: fp32 for fraud, int8 for sentiment) | fp32 | fp16 | int8
    variant: str = "auto"
    # Rows per Arrow batch handed to the operator, and the longest a partial batch waits
    # (Flink's python.fn-execution.arrow.batch.size and bundle.time). Batches of 4,096 drain a
    # backlog 10-12% faster than 1,024 on CPU (docs/performance.md, seventh round); live traffic
    # fills a batch only up to what arrives within max_wait_ms or between two watermarks.
    max_batch_size: int = 4096
    max_wait_ms: int = 50
    intra_op_threads: int = 1
    # How often each operator instance checks the registry's SERVING pointer (0 = never).
    reload_interval_s: float = 5.0


@dataclass(frozen=True)
class FraudConfig:
    model: str = "fraud"
    alert_threshold: float = 0.5
    # Fractions of a day are allowed (live demos and tests use seconds).
    label_delay_days: float = 7
    emit_features: bool = False
    # When set, customer ids in the outputs (fraud-scores, fraud-alerts, message keys, Redis keys)
    # are HMAC-SHA256 pseudonyms keyed by this file's bytes (streaming/pseudonyms.py); features
    # still use the real ids, and dead letters keep the original bytes.
    pseudonym_key_file: str = ""
    simulator_seed: int = 8
    customers: int = 5000
    terminals: int = 10000
    start_date: str = "2018-04-01"
    days: int = 183


@dataclass(frozen=True)
class SentimentConfig:
    model: str = "sentiment"
    # Per-entity tumbling windows of event time.
    window_s: int = 60
    # A text repeated within this much event time is a duplicate (scored once).
    dedup_horizon_s: int = 3600
    # Cleaned texts are cut at a word boundary before this many characters.
    max_text_chars: int = 1000
    # Company names and aliases -> entity ids, for events without an `entity` field.
    entities_file: str = str(PROJECT_ROOT / "deploy" / "entities.json")
    # The entity of a text that names none; scored, but not aggregated or alerted on.
    unresolved_entity: str = "unresolved"
    # Spike detection per entity: a window with at least min_window_count documents alerts when
    # its negative share exceeds the EWMA baseline of at least min_baseline_windows earlier
    # windows by spike_sigmas deviations and by min_negative_share_jump.
    min_window_count: int = 5
    min_baseline_windows: int = 3
    baseline_alpha: float = 0.3
    spike_sigmas: float = 3.0
    min_negative_share_jump: float = 0.3


@dataclass(frozen=True)
class Config:
    """Everything streamscore needs to know, with a documented default for each field."""

    kafka: KafkaConfig = KafkaConfig()
    topics: TopicsConfig = TopicsConfig()
    redis: RedisConfig = RedisConfig()
    flink: FlinkConfig = FlinkConfig()
    prometheus: PrometheusConfig = PrometheusConfig()
    stack: StackConfig = StackConfig()
    inference: InferenceConfig = InferenceConfig()
    fraud: FraudConfig = FraudConfig()
    sentiment: SentimentConfig = SentimentConfig()

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_config(path: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Build the configuration: defaults, then the TOML file, then the environment.

    Args:
        path: TOML file; defaults to ``$STREAMSCORE_CONFIG``, else ``./streamscore.toml`` if present.
        env: the environment to read overrides from (``os.environ`` when omitted).

    Returns:
        The frozen Config.

    Raises:
        ConfigError: an unreadable file, an unknown key or a value of the wrong type.
    """
    env = os.environ if env is None else env
    values: dict = {}
    path = path or env.get(ENV_PREFIX + "CONFIG")
    if path is None and Path("streamscore.toml").is_file():
        path = "streamscore.toml"
    if path is not None:
        try:
            values = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from None
    for key, raw in env.items():
        if key.startswith(ENV_PREFIX) and key != ENV_PREFIX + "CONFIG":
            _set_path(values, key[len(ENV_PREFIX):].lower().split("__"), raw)
    return _merge(Config(), values, "")


def from_dict(values: Mapping) -> Config:
    """Rebuild a Config from ``Config.to_dict()`` output (how jobs receive their configuration)."""
    return _merge(Config(), values, "")


def to_toml(config) -> str:
    """``config`` (a Config or one of its sections) as TOML that ``load_config`` reads back."""
    return _toml_table(config, ())


def _toml_table(section, path: tuple[str, ...]) -> str:
    lines = [f"[{'.'.join(path)}]"] if path else []
    tables = []
    for item in dataclasses.fields(section):
        value = getattr(section, item.name)
        if dataclasses.is_dataclass(value):
            tables.append(_toml_table(value, (*path, item.name)))
        else:
            lines.append(f"{item.name} = {_toml_value(value)}")
    return "\n\n".join(["\n".join(lines)] * bool(lines) + [table.rstrip("\n") for table in tables]) + "\n"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_value(str(k))} = {_toml_value(v)}" for k, v in value.items()) + " }"
    # A JSON string is a valid TOML basic string.
    return json.dumps(str(value))


def _set_path(values: dict, parts: list[str], raw: str) -> None:
    node = values
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = raw


def _merge(current, values, where: str):
    """Return the dataclass ``current`` with the fields named in ``values`` replaced."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"config {where.rstrip('.')} must be a table")
    hints = typing.get_type_hints(type(current))
    changes = {}
    for name, value in values.items():
        if name == "password":
            # Config files get committed and are shipped to jobs as JSON: secrets stay in files.
            raise ConfigError(f"config {where}password is not accepted: put the password in a file "
                              f"readable only by you and set {where}password_file")
        if name not in hints:
            raise ConfigError(f"unknown config key {where}{name}")
        old = getattr(current, name)
        if dataclasses.is_dataclass(old):
            changes[name] = _merge(old, value, f"{where}{name}.")
        else:
            changes[name] = _coerce(hints[name], value, f"{where}{name}")
    return dataclasses.replace(current, **changes)


def _coerce(hint, value, where: str):
    if typing.get_origin(hint) is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"config {where} must be a table")
        return {str(k): str(v) for k, v in value.items()}
    try:
        if hint is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                return value.lower() in ("true", "1", "yes")
            return bool(value)
        if hint in (int, float) and isinstance(value, bool):
            raise ValueError(value)
        if hint is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(value)  # int() would silently drop the fraction
        return hint(value)
    except (TypeError, ValueError):
        raise ConfigError(f"config {where} must be {hint.__name__}, got {value!r}") from None
