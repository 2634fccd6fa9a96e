"""The audit trail: one record per operation on the data flow, on the ``audit`` topic.

Who (OS user, host, Kafka principal), what (the command, or a job's model swap), its arguments with
secrets redacted, the result and the time. The CLI writes one for every state-changing command
(``streamscore.cli``: commands declared with ``audit=True``), and the jobs' inference operators one
for every model version they swap in. ``streamscore audit tail`` reads them.

Example Usage::

    write_audit(config, audit_record(config, "job submit", {"name": "fraud"}, "ok"))
"""

from __future__ import annotations

import getpass
import socket
from datetime import UTC, datetime

import orjson

from connectors.kafka import ensure_topics, producer
from streaming.config import Config

# Arguments whose names contain one of these are written as "***" (also KEY=VALUE pairs).
SECRET_WORDS = ("password", "secret", "token", "credential", "apikey", "api_key", "private")
REDACTED = "***"


def redact(value, name: str = ""):
    """``value`` with every secret-looking argument replaced by ``***``."""
    if any(word in name.lower() for word in SECRET_WORDS):
        return REDACTED
    if isinstance(value, dict):
        return {key: redact(item, str(key)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item, name) for item in value]
    if isinstance(value, str) and "=" in value:
        key, _ = value.split("=", 1)
        if any(word in key.lower() for word in SECRET_WORDS):
            return f"{key}={REDACTED}"
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def audit_record(config: Config, action: str, arguments: dict, result: str) -> dict:
    return {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        "principal": f"User:{config.kafka.username}" if config.kafka.username else "User:ANONYMOUS",
        "action": action,
        "arguments": redact(arguments),
        "result": result,
    }


def write_audit(config: Config, record: dict, timeout_s: float = 5.0) -> None:
    """Append ``record`` to the audit topic (created if missing); raises if Kafka does not take it."""
    ensure_topics(config, [config.topics.audit], timeout_s=timeout_s)
    errors = []
    sender = producer(config, on_delivery=lambda error, message: error and errors.append(error))
    sender.produce(config.topics.audit.name, orjson.dumps(record), record["action"].encode())
    if sender.flush(timeout_s) or errors:
        raise RuntimeError(f"the audit record was not written: {errors[0] if errors else 'timed out'}")


def record_model_swap(config: Config, job: str, previous: str, current: str) -> None:
    """A job's inference operator swapped in another model version (one record per operator instance)."""
    write_audit(config, audit_record(config, "model swap", {"job": job, "from": previous, "to": current}, "ok"))
