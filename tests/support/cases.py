"""The shared corpus of bad events (tests/cases/validation.jsonl) and transactions made to order."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import orjson
import pandas as pd

CASES = Path(__file__).parents[1] / "cases" / "validation.jsonl"


def bad_cases(topics: set[str]) -> list[dict]:
    """The corpus' invalid events (those with a reason code) for ``topics``."""
    return [case for case in map(json.loads, CASES.open()) if case["topic"] in topics and case["code"]]


def case_payload(case: dict) -> bytes:
    if case["payload_base64"] is None:
        return b'{"pad": "' + b"x" * case["pad_bytes"] + b'"}'
    return base64.b64decode(case["payload_base64"])


def transaction(tx_id: str, time_ms: int, customer: str = "c0") -> tuple[str, bytes, int, str]:
    """A valid transaction: its id, message value, record timestamp and customer."""
    stamp = pd.Timestamp(time_ms, unit="ms").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    event = {"transaction_id": tx_id, "event_time": stamp, "customer_id": customer, "terminal_id": "t1", "amount": 5.0}
    return tx_id, orjson.dumps(event), time_ms, customer
