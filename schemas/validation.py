"""Event validation against the JSON Schemas in this folder: one set of rules for every part.

Producers and tests call ``check_payload`` / ``check_event`` here; the jobs run the same rules in
the JVM (``jvm/src/main/java/io/streamscore/flink/EventValidator.java`` reads these same files),
and ``tests/unit/test_validation.py`` holds the cases both must agree on.

Only the JSON Schema keywords listed in ``SUPPORTED_KEYWORDS`` may appear in a schema, so no rule
is ever written down without being enforced. A failure is reported as ``"<code>: <detail>"``;
the code is stable and is what dashboards count (``dead-letter`` reasons).

Example Usage::

    event, reason = check_payload("transactions", message.value(), message.timestamp()[1])
    if reason is not None:
        route_to_dead_letter(message, reason)
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import orjson

SCHEMA_DIR = Path(__file__).parent
MAX_PAYLOAD_BYTES = 256 * 1024
SCHEMA_VERSION = 1
SUPPORTED_KEYWORDS = {
    "$schema", "$id", "title", "description", "default", "contentEncoding",
    "type", "required", "properties", "enum", "minLength", "maxLength", "minimum", "maximum", "format",
}
# RFC 3339 date-time, the profile of ISO-8601 the topics use; both validators use this pattern.
DATE_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$")


class SchemaError(ValueError):
    """A schema file uses a keyword this validator does not enforce."""


@cache
def schema(topic: str) -> dict:
    """The JSON Schema of a topic (by its default name, e.g. ``fraud-labels``)."""
    document = json.loads((SCHEMA_DIR / f"{topic}.schema.json").read_text())
    _check_keywords(document, topic)
    return document


def _check_keywords(node: dict, where: str) -> None:
    unknown = set(node) - SUPPORTED_KEYWORDS
    if unknown:
        raise SchemaError(f"{where}: unsupported schema keyword(s) {sorted(unknown)}")
    for name, child in node.get("properties", {}).items():
        _check_keywords(child, f"{where}.{name}")


def check_payload(topic: str, payload: bytes | None, record_timestamp_ms: int | None = None
                  ) -> tuple[dict | None, str | None]:
    """Parse and validate one Kafka message value.

    Args:
        topic: the schema to apply (default topic name).
        payload: the message value.
        record_timestamp_ms: the Kafka record timestamp; when given, ``event_time`` must equal it.

    Returns:
        ``(event, None)`` for a valid event, else ``(None, reason)``.
    """
    if payload is None:
        return None, "malformed_json: empty message"
    if len(payload) > MAX_PAYLOAD_BYTES:
        return None, f"payload_too_large: {len(payload)} bytes, limit {MAX_PAYLOAD_BYTES}"
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"invalid_utf8: byte {exc.start}"
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return None, f"malformed_json: {str(exc).split(':')[0]}"
    reason = check_event(topic, event, record_timestamp_ms)
    return (event, None) if reason is None else (None, reason)


def check_event(topic: str, event, record_timestamp_ms: int | None = None) -> str | None:
    """The first rule ``event`` breaks, as ``"<code>: <detail>"``, or None when it is valid."""
    rules = schema(topic)
    if not isinstance(event, dict):
        return "not_an_object: the payload must be a JSON object"
    version = event.get("schema_version")
    version = SCHEMA_VERSION if version is None else version
    allowed = rules["properties"].get("schema_version", {}).get("enum", [SCHEMA_VERSION])
    if version not in allowed or isinstance(version, bool):
        return f"unknown_schema_version: {json.dumps(version)[:40]}"
    for name in rules.get("required", []):
        if event.get(name) is None:
            return f"missing_field: {name}"
    for name, rule in rules["properties"].items():
        value = event.get(name)
        if value is None or name == "schema_version":
            continue
        reason = _check_value(name, value, rule)
        if reason:
            return reason
    if record_timestamp_ms is not None and "event_time" in rules["properties"] and event.get("event_time") is not None:
        event_ms = epoch_millis(event["event_time"])
        if event_ms != record_timestamp_ms:
            return (f"event_time_mismatch: event_time {event['event_time']} is not the Kafka "
                    f"record timestamp {iso_millis(record_timestamp_ms)}")
    return None


def _check_value(name: str, value, rule: dict) -> str | None:
    kind = rule.get("type")
    if kind == "string" and not isinstance(value, str):
        return f"wrong_type: {name} must be a string"
    if kind == "boolean" and not isinstance(value, bool):
        return f"wrong_type: {name} must be a boolean"
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"wrong_type: {name} must be a {kind}"
        if not math.isfinite(value):
            return f"wrong_type: {name} must be a finite number"
        if kind == "integer" and not float(value).is_integer():
            return f"wrong_type: {name} must be an integer"
        if "minimum" in rule and value < rule["minimum"]:
            return f"out_of_range: {name} must be >= {rule['minimum']}"
        if "maximum" in rule and value > rule["maximum"]:
            return f"out_of_range: {name} must be <= {rule['maximum']}"
    if kind == "object" and not isinstance(value, dict):
        return f"wrong_type: {name} must be an object"
    if isinstance(value, str):
        if len(value) < rule.get("minLength", 0):
            return f"invalid_value: {name} must not be empty" if rule["minLength"] == 1 else \
                f"invalid_value: {name} is shorter than {rule['minLength']} characters"
        if "maxLength" in rule and len(value) > rule["maxLength"]:
            return f"invalid_value: {name} is longer than {rule['maxLength']} characters"
        if rule.get("format") == "date-time" and epoch_millis(value) is None:
            return f"invalid_value: {name} must be an ISO-8601 date-time such as 2018-04-01T00:00:31Z"
    if "enum" in rule and value not in rule["enum"]:
        return f"invalid_value: {name} must be one of {', '.join(map(str, rule['enum']))}"
    return None


def epoch_millis(text: str) -> int | None:
    """Milliseconds since the epoch of an RFC 3339 date-time (sub-millisecond digits truncated)."""
    if not isinstance(text, str) or not DATE_TIME.match(text):
        return None
    # fromisoformat takes at most microseconds; finer digits cannot change the millisecond.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    whole = int(moment.replace(microsecond=0).timestamp()) * 1000
    return whole + moment.microsecond // 1000


def iso_millis(epoch_ms: int) -> str:
    """``2018-04-01T00:00:31.000Z``: the form every producer of this project writes."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"
