"""The validation rules every producer and job applies (the JVM validator shares these cases)."""

import orjson
import pytest

from schemas.validation import MAX_PAYLOAD_BYTES, SchemaError, check_payload, epoch_millis, iso_millis, schema

TS = epoch_millis("2018-04-01T00:00:31Z")
GOOD = {"schema_version": 1, "transaction_id": "1", "event_time": "2018-04-01T00:00:31.000Z",
        "customer_id": "5", "terminal_id": "7", "amount": 12.5}


def payload(**changes) -> bytes:
    event = {**GOOD, **changes}
    return orjson.dumps({k: v for k, v in event.items() if v is not ...})


@pytest.mark.parametrize("raw, code", [
    (payload(), None),
    (payload(schema_version=...), None),
    (payload(extra_field="ignored"), None),
    (payload(amount=0), None),
    (payload(amount=...), "missing_field"),
    (payload(customer_id=None), "missing_field"),
    (payload(amount="12.5"), "wrong_type"),
    (payload(amount=True), "wrong_type"),
    (payload(customer_id=5), "wrong_type"),
    (payload(amount=-0.01), "out_of_range"),
    (payload(amount=2e9), "out_of_range"),
    (payload(customer_id=""), "invalid_value"),
    (payload(event_time="2018-04-01"), "invalid_value"),
    (payload(event_time="yesterday"), "invalid_value"),
    (payload(schema_version=2), "unknown_schema_version"),
    (payload(schema_version="1"), "unknown_schema_version"),
    (payload(event_time="2018-04-01T00:00:32Z"), "event_time_mismatch"),
    (b'{"transaction_id": "1", "amount": NaN}', "malformed_json"),
    (b'{"amount": 1e400}', "malformed_json"),
    (b'{"transaction_id": ', "malformed_json"),
    (b"", "malformed_json"),
    (b"[1, 2]", "not_an_object"),
    (b'"text"', "not_an_object"),
    (b'{"transaction_id": "\xff\xfe"}', "invalid_utf8"),
    (b'{"pad": "' + b"x" * MAX_PAYLOAD_BYTES + b'"}', "payload_too_large"),
])
def test_each_bad_transaction_gets_its_reason_code(raw, code):
    event, reason = check_payload("transactions", raw, TS)
    if code is None:
        assert reason is None and event["transaction_id"] == "1"
    else:
        assert event is None and reason.split(":")[0] == code


def test_reason_names_the_field_and_rule():
    assert check_payload("transactions", payload(amount=-3), TS)[1] == "out_of_range: amount must be >= 0"


def test_labels_require_a_boolean_verdict():
    label = {"transaction_id": "1", "customer_id": "5", "terminal_id": "7",
             "tx_event_time": "2018-04-01T00:00:31Z", "event_time": "2018-04-08T00:00:31Z", "is_fraud": 1}
    assert check_payload("fraud-labels", orjson.dumps(label))[1] == "wrong_type: is_fraud must be a boolean"


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
