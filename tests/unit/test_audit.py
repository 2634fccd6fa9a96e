import dataclasses

import pytest

from connectors.audit import REDACTED, audit_record, redact
from streaming.cli import build_parser
from streaming.config import load_config

AUDITED = {
    ("stack", "up"): "stack up",
    ("topic", "create"): "topic create",
    ("topic", "alter", "transactions"): "topic alter",
    ("job", "submit", "fraud"): "job submit",
    ("job", "cancel", "fraud"): "job cancel",
    ("job", "savepoint", "fraud"): "job savepoint",
    ("models", "build", "fraud"): "models build",
}
NOT_AUDITED = [("stack", "status"), ("job", "list"), ("topic", "count", "transactions"), ("audit", "tail"),
               ("produce", "transactions")]


@pytest.mark.parametrize("argv, action", AUDITED.items(), ids=lambda v: " ".join(v) if isinstance(v, tuple) else v)
def test_every_state_changing_command_leaves_an_audit_record(argv, action):
    assert build_parser().parse_args(list(argv)).audited_action == action


@pytest.mark.parametrize("argv", NOT_AUDITED, ids=" ".join)
def test_commands_that_change_nothing_leave_none(argv):
    assert build_parser().parse_args(list(argv)).audited_action is None


def test_secrets_are_redacted_by_name_and_in_key_value_pairs():
    arguments = {"name": "fraud", "password": "hunter2", "params": ["api_key=abc", "model=fraud"],
                 "client": {"sasl_token": "t0k3n", "retries": 3}}
    assert redact(arguments) == {"name": "fraud", "password": REDACTED, "params": [f"api_key={REDACTED}", "model=fraud"],
                                 "client": {"sasl_token": REDACTED, "retries": 3}}


def test_an_audit_record_says_who_did_what_with_which_result_and_holds_no_secret(tmp_path):
    password = tmp_path / "password"
    password.write_text("hunter2")
    config = load_config(env={})
    config = dataclasses.replace(config, kafka=dataclasses.replace(
        config.kafka, security_protocol="SASL_SSL", username="alice", password_file=str(password),
        ca_file=str(tmp_path / "ca.pem")))
    record = audit_record(config, "job submit", {"name": "fraud", "password": "hunter2"}, "ok")
    assert record["principal"] == "User:alice" and record["action"] == "job submit" and record["result"] == "ok"
    assert record["user"] and record["host"] and record["time"].endswith("Z")
    assert "hunter2" not in repr(record)
