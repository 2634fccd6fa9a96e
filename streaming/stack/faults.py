"""Real faults on the local stack, for the fault tests and ``streamscore bench chaos``.

Each fault takes the configuration and the id of a running job, injects the fault, brings the
stack back (the broker, Redis; a TaskManager's keeper starts a new one by itself) and returns
the id of the job that runs on: the same job after a failover, or a new one after an upgrade.

Example Usage::

    job_id = kill_taskmanager(config, job_id)
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from streaming.stack.process import cmdline, descendants
from streaming.config import Config
from streaming.flink_client import FlinkRest, submit_job
from streaming.stack.services import FlinkCluster, KafkaBroker, RedisServer

Fault = Callable[[Config, str], str]
PYTHON_WORKER = b"pyflink.fn_execution.beam.beam_boot"


def kill_taskmanager(config: Config, job_id: str) -> str:
    """SIGKILL the TaskManager's JVM; its keeper starts a new one (having killed the Python
    workers the old one left behind)."""
    failed_over = _failover_of(config, job_id)
    os.kill(FlinkCluster(config).taskmanager_jvms()[0], signal.SIGKILL)
    wait_until(failed_over, "the job to fail over")
    return job_id


def lose_taskmanager_for_15_s(config: Config, job_id: str) -> str:
    """SIGKILL the TaskManager's JVM with a replacement only 15 s later, as when a machine is
    lost and a new one must start: the backlog grows, and the restarted job takes it in while its
    Python workers start (the keeper is paused meanwhile)."""
    flink = FlinkCluster(config)
    keeper = flink.taskmanagers[0].pid
    failed_over = _failover_of(config, job_id)
    os.kill(keeper, signal.SIGSTOP)
    try:
        os.kill(flink.taskmanager_jvms()[0], signal.SIGKILL)
        time.sleep(15)
    finally:
        os.kill(keeper, signal.SIGCONT)
    wait_until(failed_over, "the job to fail over")
    return job_id


def kill_python_worker(config: Config, job_id: str) -> str:
    """SIGKILL one Python worker of the TaskManager (the process running the model)."""
    taskmanager = FlinkCluster(config).taskmanager_jvms()[0]
    workers = [pid for pid in descendants(taskmanager) if PYTHON_WORKER in cmdline(pid)]
    if not workers:
        raise RuntimeError("no Python worker runs under the TaskManager")
    failed_over = _failover_of(config, job_id)
    os.kill(workers[0], signal.SIGKILL)
    wait_until(failed_over, "the job to fail over")
    return job_id


def _failover_of(config: Config, job_id: str) -> Callable[[], bool]:
    """Whether the job has failed over since this call (one more entry in its exception history)."""
    rest = FlinkRest(config.flink.rest_url)
    before = len(rest.exceptions(job_id))
    return lambda: len(rest.exceptions(job_id)) > before


def restart_broker(config: Config, job_id: str) -> str:
    broker = KafkaBroker(config)
    broker.stop()
    broker.start()
    return job_id


def stop_redis_for_20_s(config: Config, job_id: str) -> str:
    server = RedisServer(config)
    server.stop()
    time.sleep(20)
    server.start()
    return job_id


def stop_with_savepoint_and_resume(config: Config, job_id: str) -> str:
    """An upgrade: ``job savepoint --stop``, then ``job submit --from-savepoint``."""
    location = FlinkRest(config.flink.rest_url).savepoint(job_id, stop=True)
    return submit_job(config, "fraud", savepoint=location)


FAULTS: list[Fault] = [kill_taskmanager, lose_taskmanager_for_15_s, restart_broker, stop_redis_for_20_s,
                       kill_python_worker, stop_with_savepoint_and_resume]


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.5)

