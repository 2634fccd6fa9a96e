"""Submit PyFlink jobs to any Flink cluster and manage them through its REST API.

Submission runs the wheel's ``flink run -py`` client: it executes the job file here to build the
plan and uploads it with the project's Python code (zipped, ``-pyfs``) and the connector jars.
Everything else (list, cancel, savepoint) is plain REST, so it works against any standalone or
Kubernetes session cluster reachable by URL.

Example Usage::

    job_id = submit_job(config, "fraud", parallelism=2)
    FlinkRest(config.flink.rest_url).savepoint("fraud", stop=True)
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urlparse

from streaming.config import PROJECT_ROOT, Config
from streaming.errors import ServiceUnavailable, UserError

JOB_FILES = {
    "fraud": "fraud_scoring.py",
    "sentiment": "sentiment_monitor.py",
    "smoke": "smoke_counts.py",
}
ENDED_STATES = {"FINISHED", "CANCELED", "FAILED"}
SHIPPED_PACKAGES = ["streaming", "jobs", "inference", "connectors", "schemas", "fraud", "sentiment"]


def job_name(name: str) -> str:
    """The Flink job name of a streamscore job (what ``job list`` shows)."""
    return f"streamscore-{name}"


def connector_jars(config: Config) -> list[Path]:
    """Jars every job ships: the Kafka SQL connector and streamscore's own Flink functions."""
    jar_dir = Path(config.stack.jar_dir)
    jars = sorted((jar_dir / "flink-connectors").glob("*.jar")) + sorted((jar_dir / "streamscore").glob("*.jar"))
    if not any("flink-sql-connector-kafka" in jar.name for jar in jars):
        raise UserError(f"the Kafka connector jar is missing in {jar_dir}: run `make setup`")
    return jars


def submit_job(config: Config, name: str, parallelism: int | None = None, cluster: str | None = None,
               savepoint: str | None = None, params: dict[str, str] | None = None,
               job_file: Path | None = None, requirements: bool = False, timeout_s: float = 300) -> str:
    """Submit one of the project's jobs, detached; returns its Flink job id.

    Args:
        config: the configuration the job runs with (it is passed to the job as JSON).
        name: ``fraud``, ``sentiment`` or ``smoke`` (or any name, with ``job_file``).
        parallelism: job parallelism (default ``flink.parallelism``).
        cluster: REST URL of the target cluster (default ``flink.rest_url``).
        savepoint: resume from this savepoint path.
        params: job-specific parameters (``--param KEY=VALUE``).
        job_file: the job's Python file, for jobs outside ``jobs/`` (benchmarks, tests).
        requirements: ship the project's Python requirements too, for a cluster whose Python
            has PyFlink but not the packages the jobs import.
    """
    from streaming.stack.services import flink_environment

    from connectors.kafka import ensure_topics

    rest_url = cluster or config.flink.rest_url
    rest = FlinkRest(rest_url)
    rest.overview()  # a clear error when the cluster is not there
    # A job whose topics do not exist fails at its first transaction, again at every restart: create
    # the configured ones that are missing, as `stack up` does (existing ones are left as they are).
    ensure_topics(config)
    running = [j for j in rest.jobs() if j["name"] == job_name(name) and j["state"] not in ENDED_STATES]
    if running:
        raise UserError(f"{name} is already running on {rest_url} as job {running[0]['id']}; "
                        f"cancel it first (`streamscore job cancel {name}`)")
    parsed = urlparse(rest_url)
    run_dir = Path(config.stack.run_dir) / "flink" / "submit"
    run_dir.mkdir(parents=True, exist_ok=True)
    config_file = run_dir / f"{name}-config.json"
    config_file.write_text(json.dumps(config.to_dict()))
    argv = [str(Path(flink_environment(config)["FLINK_HOME"]) / "bin" / "flink"), "run", "--detached",
            "-m", f"{parsed.hostname}:{parsed.port or 8081}",
            "-py", str(job_file or PROJECT_ROOT / "jobs" / JOB_FILES[name]),
            "-pyfs", str(source_archive(run_dir)),
            "-pyclientexec", sys.executable,
            "-p", str(parallelism or config.flink.parallelism)]
    if savepoint:
        argv += ["-s", savepoint]
    if requirements:
        argv += ["-pyreq", python_requirements(run_dir)]
    argv += ["--config-file", str(config_file), "--jars", ";".join(str(j) for j in connector_jars(config))]
    argv += [f"--param={key}={value}" for key, value in (params or {}).items()]
    env = flink_environment(config)
    try:
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ServiceUnavailable(f"submitting {name} to {rest_url} did not finish within {timeout_s:.0f}s") from None
    match = re.search(r"JobID ([0-9a-f]{32})", result.stdout + result.stderr)
    if result.returncode != 0 or not match:
        raise UserError(f"submitting {name} failed: {_root_cause(result.stdout + result.stderr)}")
    return match.group(1)


def _root_cause(output: str) -> str:
    """The most specific error line of a Java/Python stack trace, on one line."""
    generic = re.compile(r"ProgramAbortException|Python process exits with code|Py4JJavaError|"
                         r"TableException: Failed to execute sql|JobExecutionException|UserError")
    causes = [line.strip() for line in output.splitlines()
              if re.match(r"\s*(Caused by: |[\w.]+(Exception|Error): )", line) and not generic.search(line)]
    if causes:
        return causes[-1].removeprefix("Caused by: ")[:500]
    lines = [line for line in output.splitlines() if line.strip()]
    return (lines[-1] if lines else "no output")[:500]


def source_archive(directory: Path) -> Path:
    """Zip the project's Python packages for the TaskManagers; reused while the code is unchanged."""
    files = sorted(p for package in SHIPPED_PACKAGES for p in (PROJECT_ROOT / package).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    archive = directory / f"streamscore-src-{digest.hexdigest()[:12]}.zip"
    if not archive.exists():
        for stale in directory.glob("streamscore-src-*.zip"):
            stale.unlink()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in files:
                zf.write(path, path.relative_to(PROJECT_ROOT))
    return archive


def python_requirements(directory: Path) -> str:
    """``-pyreq`` value: the project's pinned runtime requirements and a folder of their wheels.

    Each TaskManager pip-installs them from the wheels, offline, before the job's Python workers
    start. The cluster brings PyFlink itself, so apache-flink is left out. The wheels are those
    of this machine's Python and platform, which the cluster's must match.
    """
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    pins = [pin for pin in pyproject["project"]["dependencies"] if not pin.startswith("apache-flink")]
    text = "\n".join(pins) + "\n"
    digest = hashlib.sha256(f"{text}{sys.version_info[:2]}".encode()).hexdigest()[:12]
    requirements = directory / f"requirements-{digest}.txt"
    requirements.write_text(text)
    wheels = PROJECT_ROOT / ".cache" / "wheelhouse" / digest
    if not (wheels / ".complete").exists():
        result = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
                                 "--dest", str(wheels), "-r", str(requirements)], capture_output=True, text=True)
        if result.returncode != 0:
            raise ServiceUnavailable(f"downloading the job's Python requirements failed: {_root_cause(result.stderr)}")
        (wheels / ".complete").touch()
    return f"{requirements}#{wheels}"


class FlinkRest:
    """The few Flink REST calls the CLI needs, with one-line errors."""

    def __init__(self, url: str, timeout_s: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                text = response.read()
                return json.loads(text) if text else {}
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            try:
                detail = "; ".join(json.loads(detail).get("errors", [detail]))
            except ValueError:
                pass
            raise UserError(f"Flink at {self.url} refused {method} {path}: {detail.splitlines()[0][:300]}") from None
        except (urllib.error.URLError, OSError):
            raise ServiceUnavailable(f"Flink is not reachable at {self.url} "
                                     "(start it with `streamscore stack up`)") from None

    def overview(self) -> dict:
        return self._call("GET", "/overview")

    def jobs(self) -> list[dict]:
        """Every job the cluster knows, newest first: id, name, state, start time."""
        jobs = self._call("GET", "/jobs/overview")["jobs"]
        return sorted(({"id": j["jid"], "name": j["name"], "state": j["state"], "start_time": j["start-time"]}
                       for j in jobs), key=lambda j: -j["start_time"])

    def job(self, job_id: str) -> dict:
        return self._call("GET", f"/jobs/{job_id}")

    def taskmanagers(self, job_id: str) -> set[str]:
        """The TaskManagers (resource ids) running at least one of the job's tasks."""
        return {tm["taskmanager-id"]
                for vertex in self.job(job_id)["vertices"]
                for tm in self._call("GET", f"/jobs/{job_id}/vertices/{vertex['id']}/taskmanagers")["taskmanagers"]
                if tm["status"] == "RUNNING"}

    def failure_cause(self, job_id: str) -> str | None:
        """The root cause of the job's latest failure, on one line (None if it never failed)."""
        entries = self.exceptions(job_id)
        if not entries:
            return None
        return _root_cause(entries[0].get("stacktrace") or entries[0].get("exceptionName", ""))

    def exceptions(self, job_id: str) -> list[dict]:
        """Failures the job recovered from (or did not), newest first."""
        return self._call("GET", f"/jobs/{job_id}/exceptions").get("exceptionHistory", {}).get("entries", [])

    def latest_checkpoint(self, job_id: str) -> dict | None:
        """The job's latest completed checkpoint (``state_size`` in bytes, ``end_to_end_duration``), if any."""
        return self._call("GET", f"/jobs/{job_id}/checkpoints").get("latest", {}).get("completed")

    def vertex_metrics(self, job_id: str, vertex_id: str, names: list[str] | None = None,
                       subtask: int = 0) -> list[dict]:
        """A subtask's metrics: all their names, or the values of ``names``."""
        path = f"/jobs/{job_id}/vertices/{vertex_id}/subtasks/{subtask}/metrics"
        return self._call("GET", path + (f"?get={','.join(names)}" if names else ""))

    def resolve(self, name_or_id: str) -> str:
        """The id of the live (not ended) job with this streamscore name or Flink job id."""
        if re.fullmatch(r"[0-9a-f]{32}", name_or_id):
            return name_or_id
        for job in self.jobs():
            if job["name"] in (name_or_id, job_name(name_or_id)) and job["state"] not in ENDED_STATES:
                return job["id"]
        raise UserError(f"no running job named {name_or_id} on {self.url} (see `streamscore job list`)")

    def cancel(self, name_or_id: str) -> str:
        job_id = self.resolve(name_or_id)
        self._call("PATCH", f"/jobs/{job_id}?mode=cancel")
        self.wait_for_state(job_id, ENDED_STATES)
        return job_id

    def savepoint(self, name_or_id: str, stop: bool = False, directory: str | None = None,
                  timeout_s: float = 300) -> str:
        """Trigger a savepoint (and stop the job with ``stop``); returns the savepoint path."""
        job_id = self.resolve(name_or_id)
        body = {"cancel-job": False} if not stop else {"drain": False}
        if directory:
            body["target-directory"] = directory
        path = f"/jobs/{job_id}/stop" if stop else f"/jobs/{job_id}/savepoints"
        trigger = self._call("POST", path, body)["request-id"]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = self._call("GET", f"/jobs/{job_id}/savepoints/{trigger}")
            if status["status"]["id"] == "COMPLETED":
                operation = status["operation"]
                if "failure-cause" in operation:
                    raise UserError(f"savepoint failed: {operation['failure-cause'].get('stack-trace', '').splitlines()[0]}")
                return operation["location"]
            time.sleep(0.5)
        raise ServiceUnavailable(f"savepoint of job {job_id} did not complete within {timeout_s:.0f}s")

    def wait_until_running(self, job_id: str, timeout_s: float = 180) -> None:
        """Wait until the job and every one of its tasks run. A task opens its Python worker and
        loads its model before it runs: events sent before that wait in Kafka."""
        def every_task_runs(job: dict) -> bool:
            if job["state"] in ENDED_STATES:
                raise UserError(f"job {job_id} ended ({job['state']}) before all its tasks ran")
            return job["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in job["vertices"])

        self._poll(job_id, every_task_runs, timeout_s, "all its tasks running")

    def wait_for_state(self, job_id: str, states: set[str], timeout_s: float = 120) -> str:
        return self._poll(job_id, lambda job: job["state"] in states, timeout_s, "/".join(sorted(states)))["state"]

    def _poll(self, job_id: str, done, timeout_s: float, what: str) -> dict:
        """The job's details once ``done`` holds for them, checked every 0.5 s."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if done(job):
                return job
            time.sleep(0.5)
        raise ServiceUnavailable(f"job {job_id} did not reach {what} within {timeout_s:.0f}s")
