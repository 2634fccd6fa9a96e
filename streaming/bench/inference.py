"""``streamscore bench inference``: the operator inside a real PyFlink job against bare ONNX Runtime.

Both run in one invocation on the same model, batch size and threads: first the job on the
local cluster (datagen → operator → blackhole, parallelism 1), twice with different row counts
so that the difference of their durations gives the steady-state rows/s; then a loop calling
``session.run`` on the same batch size in this process. Their ratio is what the
operator costs: Arrow transfer between the JVM and the Python worker, pandas conversion, row
checks and result assembly. In the same run, the same model called once per row from a plain
Python function, in Flink's process and thread modes (``per_row_rows_per_s``): what the
batching is worth against each Python execution mode.
"""

from __future__ import annotations

import time

import numpy as np

from inference.handlers import TabularHandler
from inference.registry import ModelRegistry
from inference.runner import OnnxRunner, RunnerSettings
from streaming.bench.machine import machine_info
from streaming.config import PROJECT_ROOT, Config
from streaming.flink_client import FlinkRest, submit_job

# A plain Python function called per row, run in the Python worker or in the TaskManager.
PER_ROW_MODES = ("row-process", "row-thread")


def bench_inference(config: Config, model: str = "fraud", rows: int = 4_000_000, bare_seconds: float = 10.0) -> dict:
    registry = ModelRegistry(config.inference.registry_dir)
    version = registry.load(model)
    operator = _operator_rows_per_s(config, model, rows)
    # Per-row functions are slower by an order of magnitude: a twentieth of the rows gives them
    # runs as long as the operator's.
    per_row = {mode: round(_operator_rows_per_s(config, model, rows // 20, mode)["rows_per_s"])
               for mode in PER_ROW_MODES}
    bare = _bare_rows_per_s(config, version, bare_seconds)
    return {
        "benchmark": "inference",
        "model": version.tag,
        "variant": config.inference.variant,
        "device": operator.pop("device"),
        "batch_size": config.inference.max_batch_size,
        "intra_op_threads": config.inference.intra_op_threads,
        "operator_rows_per_s": round(operator["rows_per_s"]),
        "bare_rows_per_s": round(bare),
        "ratio": round(operator["rows_per_s"] / bare, 3),
        "per_row_rows_per_s": per_row,
        "operator_batch_latency_micros_p50": operator["latency_p50"],
        "operator_batch_latency_micros_p99": operator["latency_p99"],
        "rows": rows,
        **machine_info(),
    }


def _operator_rows_per_s(config: Config, model: str, rows: int, mode: str = "arrow") -> dict:
    """Rows/s of the job's model function (``mode``: jobs/inference_bench.py) from two runs of
    different length: the difference cancels the fixed costs (submission, start-up, Python worker
    launch, model load) that both runs pay."""
    short = _timed_run(config, model, rows // 5, mode, sample_gauges=False)
    full = _timed_run(config, model, rows, mode, sample_gauges=mode == "arrow")
    return {"rows_per_s": (rows - rows // 5) / (full["seconds"] - short["seconds"]), **full["gauges"]}


def _timed_run(config: Config, model: str, rows: int, mode: str, sample_gauges: bool) -> dict:
    rest = FlinkRest(config.flink.rest_url)
    job_id = submit_job(config, "inference-bench", parallelism=1,
                        params={"model": model, "rows": str(rows), "mode": mode},
                        job_file=PROJECT_ROOT / "jobs" / "inference_bench.py")
    gauges = {"device": "cpu", "latency_p50": 0, "latency_p99": 0}
    try:
        if sample_gauges:
            vertex, names = _operator_metrics(rest, job_id)
            # The JobManager refreshes metrics every 10 s; read once they reflect the steady state.
            time.sleep(12)
            if rest.job(job_id)["state"] == "RUNNING":
                values = _read(rest, job_id, vertex, names)
                gauges = {"device": values["device"],
                          "latency_p50": int(values.get("inference_batch_latency_micros_p50", 0)),
                          "latency_p99": int(values.get("inference_batch_latency_micros_p99", 0))}
        state = rest.wait_for_state(job_id, {"FINISHED", "FAILED", "CANCELED"}, timeout_s=1800)
    finally:
        if rest.job(job_id)["state"] == "RUNNING":
            rest.cancel(job_id)
    if state != "FINISHED":
        raise RuntimeError(f"the benchmark job ended {state}; see the Flink UI for job {job_id}")
    return {"seconds": rest.job(job_id)["duration"] / 1000, "gauges": gauges}


def _operator_metrics(rest: FlinkRest, job_id: str, timeout_s: float = 120) -> tuple[str, dict[str, str]]:
    """The operator's vertex and the full names of its inference metrics (once they exist)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for vertex in rest.job(job_id).get("vertices", []):
            listed = rest.vertex_metrics(job_id, vertex["id"])
            names = {m["id"].rsplit(".", 1)[-1]: m["id"] for m in listed if ".inference_" in m["id"]}
            if "inference_rows_scored" in names:
                devices = [m["id"] for m in listed if ".device." in m["id"]]
                names["device"] = devices[0] if devices else ""
                return vertex["id"], names
        time.sleep(1)
    raise RuntimeError("the inference operator reported no metrics")


def _read(rest: FlinkRest, job_id: str, vertex: str, names: dict[str, str]) -> dict:
    wanted = {k: v for k, v in names.items() if k != "device"}
    values = rest.vertex_metrics(job_id, vertex, list(wanted.values()))
    by_id = {m["id"]: float(m["value"]) for m in values}
    result = {short: by_id[full] for short, full in wanted.items() if full in by_id}
    result["device"] = names["device"].split(".device.", 1)[-1].split(".", 1)[0] if names["device"] else "cpu"
    return result


def _bare_rows_per_s(config: Config, version, seconds: float) -> float:
    handler = TabularHandler(version.metadata)
    batch = config.inference.max_batch_size
    settings = RunnerSettings(device=config.inference.device, intra_op_threads=config.inference.intra_op_threads)
    runner = OnnxRunner(version.file(config.inference.variant), settings)
    runner.open()
    rng = np.random.default_rng(0)
    inputs = {name: rng.uniform(0, 100, size=(batch, columns.stop - columns.start)).astype(dtype)
              for name, columns, dtype in handler.groups}
    runner.run(inputs)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        runner.run(inputs)
        done += batch
    return done / (time.perf_counter() - started)
