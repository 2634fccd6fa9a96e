"""Batch scoring with the serving model version, hot swaps between batches, and metrics.

``BatchScorer`` is the engine of the inference operator and knows nothing of Flink: it takes a
batch of columns (pandas Series, as a vectorized UDF receives them), scores the rows that can be
scored in chunks of the model's best batch size, flags the others with a reason, and tags every
row with the model version that scored it. A background thread watches the registry's
``SERVING`` pointer, loads and validates a new version, and the scorer switches to it at the
start of the next batch; a version that fails validation is never used.

Example Usage::

    scorer = BatchScorer(ModelRegistry("models"), "fraud", ScorerSettings(), RollingMetrics())
    scorer.open()
    frame = scorer.score([amounts, counts, ...])   # columns: score, model_version, error
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from inference.handlers import PreparedBatch, handler_for
from inference.registry import ModelRegistry, ModelVersion
from inference.runner import OnnxRunner, RunnerSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScorerSettings:
    runner: RunnerSettings = RunnerSettings()
    variant: str = "auto"
    # Rows per model call; the model's metadata may declare a better one (best_batch_size).
    max_batch_size: int = 4096
    reload_interval_s: float = 5.0


def padded_rows(rows: int, limit: int) -> int:
    """The batch size a GPU call of ``rows`` rows is padded to: the next power of two, at most
    ``limit`` (a few shapes in all, each at most twice the rows)."""
    return min(limit, 1 << max(rows - 1, 0).bit_length())


class RollingMetrics:
    """Counters plus the last batches' sizes and latencies, for percentile gauges.

    The Flink adapter exports these through the operator's metric group; tests read them directly.
    """

    def __init__(self, window: int = 1024):
        self.rows_scored = 0
        self.rows_rejected = 0
        self.inference_errors = 0
        self.batches = 0
        self.swaps = 0
        self.swap_failures = 0
        self.load_millis = 0
        self.model_version = 0
        self.device = "unknown"
        self._latency_micros: deque[int] = deque(maxlen=window)
        self._batch_sizes: deque[int] = deque(maxlen=window)
        self._scores: deque[float] = deque(maxlen=4 * window)

    def batch(self, rows: int, latency_s: float) -> None:
        self.batches += 1
        self.rows_scored += rows
        self._latency_micros.append(int(latency_s * 1e6))
        self._batch_sizes.append(rows)

    def latency_micros(self, quantile: float) -> int:
        return int(np.quantile(self._latency_micros, quantile)) if self._latency_micros else 0

    def observe_scores(self, scores: np.ndarray) -> None:
        """The newest scores, for the score-distribution gauges (a shift is a model or data problem)."""
        self._scores.extend(scores[-self._scores.maxlen:].tolist())

    def score_ppm(self, quantile: float) -> int:
        """A quantile of the newest scores in parts per million (PyFlink gauges carry integers)."""
        return int(np.quantile(self._scores, quantile) * 1e6) if self._scores else 0

    def batch_size(self, quantile: float) -> int:
        return int(np.quantile(self._batch_sizes, quantile)) if self._batch_sizes else 0


@dataclass
class _Loaded:
    model: ModelVersion
    handler: object
    runner: OnnxRunner


class BatchScorer:
    """Scores batches of columns with the serving version of one model."""

    def __init__(self, registry: ModelRegistry, name: str, settings: ScorerSettings,
                 metrics: RollingMetrics, clock: Callable[[], float] = time.perf_counter,
                 on_swap: Callable[[str, str], None] | None = None):
        self.registry = registry
        self.on_swap = on_swap
        self.name = name
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self._active: _Loaded | None = None
        self._pending: _Loaded | None = None
        self._sample: PreparedBatch | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def model(self) -> ModelVersion:
        return self._active.model

    @property
    def variant(self) -> str:
        return self._active.model.resolve_variant(self.settings.variant)

    @property
    def result_columns(self) -> tuple[str, ...]:
        return (*self._active.handler.result_columns, "model_version", "error")

    def open(self, watch: bool = True) -> None:
        self._active = self._load(self.registry.serving_version(self.name))
        self._publish_active()
        if watch and self.settings.reload_interval_s > 0:
            self._watcher = threading.Thread(target=self._watch, name=f"model-watch-{self.name}", daemon=True)
            self._watcher.start()

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)

    def _load(self, version: str) -> _Loaded:
        started = self.clock()
        model = self.registry.load(self.name, version)
        handler = handler_for(model)
        runner = OnnxRunner(model.file(self.settings.variant), self.settings.runner)
        runner.open()
        loaded = _Loaded(model, handler, runner)
        self._run_chunk(loaded, self._warmup_batch(handler).inputs, record=False)
        self.metrics.load_millis = int((self.clock() - started) * 1000)
        log.info("model %s loaded on %s in %d ms", model.tag, runner.device, self.metrics.load_millis)
        return loaded

    def _publish_active(self) -> None:
        self.metrics.model_version = int(self._active.model.version)
        self.metrics.device = self._active.runner.device

    def _warmup_batch(self, handler) -> PreparedBatch:
        if hasattr(handler, "features"):
            columns = [pd.Series(np.zeros(8)) for _ in handler.features]
        else:
            columns = [pd.Series(["warm up the model"] * 8)]
        return handler.prepare(columns)

    # -- scoring ---------------------------------------------------------------------------------

    def score(self, columns: list[pd.Series]) -> pd.DataFrame:
        """Score one batch; one output row per input row, in order.

        Rows that cannot be scored get null results and a reason in ``error``; the batch never
        fails because of one row.
        """
        self._swap_if_ready()
        active = self._active
        prepared = active.handler.prepare(columns)
        n = len(prepared.valid)
        # Unscored rows are NaN in float columns (null once in Arrow) and None elsewhere.
        results = {c: np.full(n, None, dtype=object) for c in active.handler.result_columns}
        errors = prepared.reasons.copy()
        self.metrics.rows_rejected += int((~prepared.valid).sum())
        if prepared.rows:
            try:
                scored = self._run(active, prepared)
                if prepared.order is not None:
                    unsorted = np.empty_like(prepared.order)
                    unsorted[prepared.order] = np.arange(len(prepared.order))
                    scored = {column: values[unsorted] for column, values in scored.items()}
                if "score" in scored:
                    self.metrics.observe_scores(scored["score"])
                for column, values in scored.items():
                    if values.dtype.kind == "f":
                        results[column] = np.full(n, np.nan)
                    results[column][prepared.valid] = values
                self._sample = prepared
            except Exception as exc:  # a model failure: reasons for the rows, not a dead job
                self.metrics.inference_errors += prepared.rows
                errors[prepared.valid] = f"inference_error: {type(exc).__name__}: {str(exc)[:200]}"
                log.exception("scoring a batch of %d rows failed", prepared.rows)
        frame = pd.DataFrame(results)
        frame["model_version"] = active.model.tag
        frame["error"] = errors
        return frame

    def _run(self, loaded: _Loaded, prepared: PreparedBatch) -> dict[str, np.ndarray]:
        size = int(loaded.model.metadata.get("best_batch_size", self.settings.max_batch_size))
        size = max(1, min(size, self.settings.max_batch_size))
        parts = [self._run_chunk(loaded, {k: v[start:start + size] for k, v in prepared.inputs.items()}, size)
                 for start in range(0, prepared.rows, size)]
        return {column: np.concatenate([p[column] for p in parts]) for column in parts[0]}

    def _run_chunk(self, loaded: _Loaded, inputs: dict[str, np.ndarray],
                   pad_to: int | None = None, record: bool = True) -> dict[str, np.ndarray]:
        inputs = loaded.handler.trim(inputs)
        rows = len(next(iter(inputs.values())))
        # On a GPU a short chunk is padded up to a power of two: each new shape costs an engine
        # build (TensorRT) and a set of device buffers, so a live stream's every batch size would
        # be a new one; padding to the full batch instead would score a live batch of a few
        # hundred rows as thousands. On CPU, which device "auto" may end up on, padding is waste.
        if loaded.runner.device != "cpu" and pad_to:
            padded = padded_rows(rows, pad_to)
            if padded > rows:
                inputs = {k: np.concatenate([v, np.repeat(v[:1], padded - rows, axis=0)]) for k, v in inputs.items()}
        started = self.clock()
        outputs = loaded.runner.run(inputs)
        results = loaded.handler.results(outputs)
        if record:
            self.metrics.batch(rows, self.clock() - started)
        return {k: v[:rows] for k, v in results.items()}

    # -- hot swap --------------------------------------------------------------------------------

    def _swap_if_ready(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            previous = self._active
            self._active = pending
            self.metrics.swaps += 1
            self._publish_active()
            log.warning("now scoring with %s (was %s)", pending.model.tag, previous.model.tag)
            previous.runner.close()
            if self.on_swap is not None:
                try:
                    self.on_swap(previous.model.tag, pending.model.tag)
                except Exception as exc:  # the swap happened; a record that could not be written must not stop scoring
                    log.error("the swap to %s could not be recorded: %s", pending.model.tag, exc)

    def _watch(self) -> None:
        failed_version = None
        while not self._stop.wait(self.settings.reload_interval_s):
            try:
                version = self.registry.serving_version(self.name)
            except Exception:
                continue
            current = (self._pending or self._active).model.version
            if version in (current, failed_version):
                continue
            try:
                candidate = self._load(version)
                self._validate(candidate)
            except Exception as exc:
                failed_version = version
                self.metrics.swap_failures += 1
                log.error("model %s:%s was not swapped in, %s keeps serving: %s",
                          self.name, version, self._active.model.tag, exc)
                continue
            self._pending = candidate

    def _validate(self, candidate: _Loaded) -> None:
        """The candidate must score the last real batch to finite values of the right shape."""
        sample = self._sample or self._warmup_batch(candidate.handler)
        results = self._run_chunk(candidate, sample.inputs, record=False)
        for column, values in results.items():
            if len(values) != sample.rows:
                raise ValueError(f"{column} has {len(values)} values for {sample.rows} rows")
            if values.dtype.kind == "f" and not np.isfinite(values).all():
                raise ValueError(f"{column} has non-finite values")
