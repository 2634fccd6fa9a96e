"""The keeper the local stack runs each TaskManager under, on real processes."""

import os
import re
import signal
import sys

from streaming.stack.process import ManagedProcess, _alive, children, wait_until


def _wait_until(condition) -> None:
    wait_until(condition, 20, "the condition", interval_s=0.05)


def _keeper(tmp_path, program: str, *options: str) -> ManagedProcess:
    keeper = ManagedProcess("keeper", tmp_path)
    keeper.start([sys.executable, "-m", "streaming.stack.keeper", *options, "--", "sh", "-c", program, "{started}"])
    return keeper


def test_a_program_that_keeps_ending_at_once_is_started_again_then_given_up(tmp_path):
    starts = tmp_path / "starts"
    keeper = _keeper(tmp_path, f'echo "$0" >> {starts}', "--first-delay-s", "0.05", "--give-up-after", "3")

    _wait_until(lambda: keeper.pid is None)
    stamps = starts.read_text().split()
    assert len(stamps) == 3
    assert all(re.fullmatch(r"\d{6}", stamp) for stamp in stamps), "{started} becomes HHMMSS"
    assert "not starting it again" in keeper.log_tail(1)


def test_a_killed_program_is_started_again_without_what_it_left_behind(tmp_path):
    orphan_file = tmp_path / "orphan"
    keeper = _keeper(tmp_path, f"sleep 300 & echo $! > {orphan_file}; wait", "--first-delay-s", "0.05")
    try:
        _wait_until(lambda: orphan_file.exists() and orphan_file.read_text().strip())
        orphan = int(orphan_file.read_text())
        [program] = children(keeper.pid)
        orphan_file.unlink()

        os.kill(program, signal.SIGKILL)

        _wait_until(lambda: orphan_file.exists() and orphan_file.read_text().strip())
        assert not _alive(orphan), "the killed program's child outlived it"
        assert program not in children(keeper.pid) and len(children(keeper.pid)) == 1
    finally:
        keeper.stop()


def test_sigterm_stops_the_program_and_the_keeper(tmp_path):
    keeper = _keeper(tmp_path, "sleep 300")
    _wait_until(lambda: children(keeper.pid))
    [program] = children(keeper.pid)

    assert keeper.stop(timeout_s=10)

    assert not _alive(program)
    assert "ended by itself" not in keeper.log_tail(20)
