"""Keep one program running: start it again when it exits by itself, as systemd's
``Restart=on-failure`` or a Kubernetes Deployment would for a TaskManager.

The local stack starts each TaskManager under a keeper. A TaskManager can end without anyone
stopping it: Flink terminates the JVM when a task fails while closing (its Python operator's
Arrow stream is already closed when a Python worker died: "FATAL - exception in exception
handler"), and a fault test or an operator may SIGKILL it. Without a keeper the job then waits
for slots forever.

The keeper is the group leader of the processes it starts, and their subreaper: the Python
workers of a TaskManager that died are handed to it and killed before the next start, so they
never hold ports or memory next to the new one. SIGTERM (``streamscore stack down``) stops the
program and the keeper. ``{started}`` in an argument becomes the start time (HHMMSS) at every
start: a restarted TaskManager needs a resource id of its own (see ``FlinkCluster.start``).

Example Usage::

    python -m streaming.stack.keeper -- taskmanager.sh start-foreground -D taskmanager.resource-id=tm-{started}
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from streaming.stack.process import children

PR_SET_CHILD_SUBREAPER = 36
# A start that ends sooner than this counts as failing; after ``give_up_after`` of those in a row
# the keeper gives up (a broken configuration must not restart forever).
QUICK_S = 10.0
MAX_DELAY_S = 30.0


def keep(argv: Sequence[str], first_delay_s: float = 1.0, give_up_after: int = 5) -> int:
    """Run ``argv`` until SIGTERM, starting it again ``first_delay_s`` after it ends (doubling
    while it keeps ending quickly); returns the exit code for the keeper."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    stopping = False
    program: subprocess.Popen | None = None

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        if program is not None and program.returncode is None:
            program.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    delay_s, quick_failures = first_delay_s, 0
    while not stopping:
        stamp = time.strftime("%H%M%S")
        started = time.monotonic()
        program = subprocess.Popen([arg.replace("{started}", stamp) for arg in argv])
        code = _wait(program)
        _kill_leftovers()
        if stopping:
            break
        ran_s = time.monotonic() - started
        quick_failures = quick_failures + 1 if ran_s < QUICK_S else 0
        if quick_failures >= give_up_after:
            print(f"keeper: {argv[0]} ended {give_up_after} times within {QUICK_S:.0f} s of its start; "
                  "not starting it again", flush=True)
            return 1
        delay_s = first_delay_s if ran_s >= QUICK_S else min(2 * delay_s, MAX_DELAY_S)
        print(f"keeper: {argv[0]} ended by itself (exit {code}) after {ran_s:.0f} s; "
              f"starting it again in {delay_s:.1f} s", flush=True)
        resume_at = time.monotonic() + delay_s
        while not stopping and time.monotonic() < resume_at:
            time.sleep(0.2)
    return 0


def _wait(program: subprocess.Popen) -> int:
    """The program's exit code, reaping on the way any orphan handed to the keeper that ended."""
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == program.pid:
            program.returncode = os.waitstatus_to_exitcode(status)
            return program.returncode


def _kill_leftovers() -> None:
    """SIGKILL what the ended program left behind (its orphans are the keeper's children now)."""
    for pid in children(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m streaming.stack.keeper",
                                     description="Keep PROGRAM running: start it again when it ends by itself.")
    parser.add_argument("--first-delay-s", type=float, default=1.0)
    parser.add_argument("--give-up-after", type=int, default=5,
                        help="quick ends in a row (within 10 s of the start) before the keeper gives up")
    parser.add_argument("program", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    program = args.program[1:] if args.program[:1] == ["--"] else args.program
    if not program:
        parser.error("PROGRAM is missing")
    sys.exit(keep(program, args.first_delay_s, args.give_up_after))


if __name__ == "__main__":
    main()
