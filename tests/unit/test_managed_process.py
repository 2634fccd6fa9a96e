import os
import signal

from streaming.stack.process import ManagedProcess, _alive, wait_until


def _wait_until(condition) -> None:
    wait_until(condition, 10, "the condition", interval_s=0.05)


def _leader_with_a_child_then_killed(process: ManagedProcess, tmp_path) -> int:
    """Start a leader that starts a child (as a TaskManager starts Python workers), SIGKILL the
    leader, and return the child's pid (still running)."""
    child_pid_file = tmp_path / "child.pid"
    leader = process.start(["sh", "-c", f"sleep 300 & echo $! > {child_pid_file}; wait"])
    _wait_until(lambda: child_pid_file.exists() and child_pid_file.read_text().strip())
    child = int(child_pid_file.read_text())
    os.kill(leader, signal.SIGKILL)
    _wait_until(lambda: process.pid is None)
    assert _alive(child)
    return child


def test_stop_kills_what_a_killed_leader_left_in_its_process_group(tmp_path):
    process = ManagedProcess("leader", tmp_path)
    child = _leader_with_a_child_then_killed(process, tmp_path)

    assert process.stop() is False
    _wait_until(lambda: not _alive(child))
    assert not process.pid_file.exists()


def test_a_restart_kills_what_the_killed_leader_left_first(tmp_path):
    process = ManagedProcess("leader", tmp_path)
    child = _leader_with_a_child_then_killed(process, tmp_path)

    process.start(["sleep", "300"])
    _wait_until(lambda: not _alive(child))
    process.stop()


def test_stop_of_a_process_never_started_does_nothing(tmp_path):
    assert ManagedProcess("absent", tmp_path).stop() is False
