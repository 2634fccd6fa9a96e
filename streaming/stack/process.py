"""Background processes of the local stack: start detached, remember the pid, stop for good."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from streaming.errors import ServiceUnavailable, UserError


class ManagedProcess:
    """One long-running program with a pid file and a log file in the stack's run folder.

    The process gets its own session, so it outlives the CLI command that started it and a
    Ctrl-C in the user's terminal does not reach it.

    Example Usage::

        redis = ManagedProcess("redis", run_dir)
        redis.start(["redis-server", "redis.conf"])
    """

    def __init__(self, name: str, run_dir: Path):
        self.name = name
        self.pid_file = run_dir / "pids" / f"{name}.pid"
        self.log_file = run_dir / "logs" / f"{name}.log"

    @property
    def pid(self) -> int | None:
        pid = self._recorded_pid()
        return pid if pid is not None and _alive(pid) else None

    def _recorded_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text())
        except (OSError, ValueError):
            return None

    def start(self, argv: Sequence[str], env: Mapping[str, str] | None = None,
              cwd: Path | None = None) -> int:
        previous = self._recorded_pid()
        if previous is not None and not _alive(previous):
            _kill_orphans(previous)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None, cwd=cwd, start_new_session=True)
        self.pid_file.write_text(str(proc.pid))
        return proc.pid

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Ask the process to stop (SIGTERM), then kill it after ``timeout_s``. True if it ran."""
        pid = self._recorded_pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        if not _alive(pid):
            _kill_orphans(pid)
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.1)
        return True

    def log_tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (or, as a subreaper, inherited) that still run."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(c) for c in task.read_text().split()]
        except OSError:
            pass
    return found


def cmdline(pid: int) -> bytes:
    """The process' arguments, NUL-separated (empty once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def descendants(pid: int) -> list[int]:
    """Children, their children, and so on."""
    found, frontier = [], children(pid)
    while frontier:
        found += frontier
        frontier = [c for p in frontier for c in children(p)]
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited child not yet reaped) counts as dead.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _kill_orphans(group: int) -> None:
    """Kill what is left of the process group of a leader that died (killed or crashed): a
    TaskManager's Python workers may outlive it. Linux does not hand out a group's id to a new
    process while any member lives, so the group holds only what the leader started."""
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def ensure_port_free(service: str, host: str, port: int, setting: str) -> None:
    """Fail with one clear line when another program already listens where we want to."""
    if port_open(host, port):
        raise UserError(f"cannot start {service}: port {port} on {host} is already in use by "
                        f"another program; stop it or change {setting}")


def wait_until(check: Callable[[], bool], timeout_s: float, what: str,
               process: ManagedProcess | None = None, interval_s: float = 0.5) -> None:
    """Poll ``check`` until it holds; fail with the log's last lines if the process died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and process.pid is None:
            tail = process.log_tail(3).replace("\n", " | ")
            raise ServiceUnavailable(f"{what} exited during start-up (log {process.log_file}): {tail}")
        time.sleep(interval_s)
    where = f" (log {process.log_file})" if process else ""
    raise ServiceUnavailable(f"{what} did not become healthy within {timeout_s:.0f}s{where}")
