"""Every command fails with one clear line, never a traceback, on a user mistake."""

import subprocess
import sys

import pytest

from streaming.cli import main


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "streaming.cli", *args], capture_output=True, text=True,
                          env=env, timeout=60)


@pytest.mark.parametrize("args", [
    ["produce", "transactions", "--count", "-3"],
    ["produce", "transactions", "--rate", "zero"],
    ["job", "submit", "nonsense"],
    ["stack", "sideways"],
])
def test_bad_arguments_exit_non_zero_with_usage(args):
    result = run(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "error:" in result.stderr


def test_unreachable_kafka_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("STREAMSCORE_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:1")
    assert main(["topic", "count", "transactions"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "streamscore: error: Kafka is not reachable at 127.0.0.1:1 (start it with `streamscore stack up`)"


def test_unreachable_flink_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("STREAMSCORE_FLINK__REST_URL", "http://127.0.0.1:1")
    assert main(["job", "list"]) == 1
    assert "Flink is not reachable at http://127.0.0.1:1" in capsys.readouterr().err


def test_bad_config_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("STREAMSCORE_FLINK__PARALLELISM", "many")
    assert main(["job", "list"]) == 1
    assert capsys.readouterr().err.strip() == "streamscore: error: config flink.parallelism must be int, got 'many'"


def test_every_command_has_help():
    for args in (["--help"], ["stack", "--help"], ["produce", "transactions", "--help"], ["job", "submit", "--help"],
                 ["bench", "produce", "--help"], ["topic", "count", "--help"]):
        result = run(*args)
        assert result.returncode == 0 and "usage:" in result.stdout
