"""The validation rules every producer and job applies (the JVM validator shares these cases)."""

import base64
import json
from pathlib import Path

import orjson
import pytest

from schemas.validation import SchemaError, check_payload, epoch_millis, iso_millis, schema

TS = epoch_millis("2018-04-01T00:00:31Z")
CASES = [json.loads(line) for line in (Path(__file__).parents[1] / "cases" / "validation.jsonl").open()]


def case_payload(case: dict) -> bytes:
    if case["payload_base64"] is None:
        return b'{"pad": "' + b"x" * case["pad_bytes"] + b'"}'
    return base64.b64decode(case["payload_base64"])


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_each_shared_case_gets_its_reason_code(case):
    event, reason = check_payload(case["topic"], case_payload(case), case["record_timestamp_ms"])
    if case["code"] is None:
        assert reason is None and isinstance(event, dict)
    else:
        assert event is None and reason.split(":")[0] == case["code"], reason


def payload(**changes) -> bytes:
    event = {"transaction_id": "1", "event_time": "2018-04-01T00:00:31Z", "customer_id": "5",
             "terminal_id": "7", "amount": 12.5, **changes}
    return orjson.dumps(event)


def test_reason_names_the_field_and_rule():
    assert check_payload("transactions", payload(amount=-3), TS)[1] == "out_of_range: amount must be >= 0"


def test_event_times_convert_to_epoch_milliseconds_and_back():
    assert epoch_millis("2018-04-01T02:00:31.1239+02:00") == TS + 123
    assert iso_millis(TS) == "2018-04-01T00:00:31.000Z"
    assert epoch_millis("2018-02-30T00:00:00Z") is None


def test_every_shipped_schema_uses_only_enforced_keywords():
    for topic in ["transactions", "fraud-labels", "fraud-scores", "fraud-alerts", "news",
                  "sentiment-scores", "sentiment-alerts", "dead-letter"]:
        assert schema(topic)["type"] == "object"


def test_an_unenforced_keyword_is_refused(tmp_path, monkeypatch):
    import schemas.validation as validation
    (tmp_path / "odd.schema.json").write_text('{"type": "object", "properties": {"a": {"pattern": "x"}}}')
    monkeypatch.setattr(validation, "SCHEMA_DIR", tmp_path)
    validation.schema.cache_clear()
    try:
        with pytest.raises(SchemaError, match="pattern"):
            validation.schema("odd")
    finally:
        validation.schema.cache_clear()
