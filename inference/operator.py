"""The inference operator: ``BatchScorer`` as a PyFlink vectorized (pandas) scalar function.

This is the only module of ``inference`` that imports Flink. Flink hands the function whole Arrow
batches (``python.fn-execution.arrow.batch.size`` rows, or fewer when ``bundle.time`` expires), so
there is no per-row Python on the hot path. The function returns a ROW per input row:
the handler's result columns, ``model_version`` and ``error``.

Example Usage::

    score = model_function("fraud", config)
    t_env.create_temporary_function("score_fraud", score)
    t_env.sql_query("SELECT score_fraud(amount, ...) AS s FROM features")
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from pyflink.table import DataTypes
from pyflink.table.udf import FunctionContext, ScalarFunction, udf

from inference.registry import ModelRegistry
from inference.runner import RunnerSettings
from inference.scorer import BatchScorer, RollingMetrics, ScorerSettings
from streaming.config import Config

# Flink counter name -> RollingMetrics attribute
COUNTERS = {"inference_rows_scored": "rows_scored", "inference_rows_rejected": "rows_rejected",
            "inference_errors": "inference_errors", "inference_batches": "batches", "inference_swaps": "swaps",
            "inference_swap_failures": "swap_failures"}


class ModelOperator(ScalarFunction):
    """Scores Arrow batches with the serving version of a registry model."""

    def __init__(self, model: str, registry_dir: str, settings: ScorerSettings,
                 on_swap: Callable[[str, str], None] | None = None):
        self.model = model
        self.registry_dir = registry_dir
        self.settings = settings
        self.on_swap = on_swap
        self.scorer: BatchScorer | None = None

    def open(self, function_context: FunctionContext) -> None:
        self.metrics = RollingMetrics()
        self.scorer = BatchScorer(ModelRegistry(self.registry_dir), self.model, self.settings, self.metrics,
                                  on_swap=self.on_swap)
        self.scorer.open()
        group = (function_context.get_metric_group()
                 .add_group("model", self.model).add_group("device", self.metrics.device))
        self._counters = {attribute: group.counter(name) for name, attribute in COUNTERS.items()}
        self._reported = dict.fromkeys(COUNTERS.values(), 0)
        m = self.metrics
        group.gauge("inference_model_version", lambda: m.model_version)
        group.gauge("inference_model_load_millis", lambda: m.load_millis)
        group.gauge("inference_batch_latency_micros_p50", lambda: m.latency_micros(0.5))
        group.gauge("inference_batch_latency_micros_p99", lambda: m.latency_micros(0.99))
        group.gauge("inference_batch_size_p50", lambda: m.batch_size(0.5))
        group.gauge("inference_batch_size_max", lambda: m.batch_size(1.0))
        if "score" in self.scorer.result_columns:
            for q in (50, 90, 99):
                group.gauge(f"inference_score_p{q}_ppm", lambda q=q: m.score_ppm(q / 100))

    def eval(self, *columns: pd.Series) -> pd.DataFrame:
        frame = self.scorer.score(list(columns))
        for name in COUNTERS.values():
            value = getattr(self.metrics, name)
            if value != self._reported[name]:
                self._counters[name].inc(value - self._reported[name])
                self._reported[name] = value
        return frame

    def close(self) -> None:
        if self.scorer is not None:
            self.scorer.close()


def scorer_settings(config: Config) -> ScorerSettings:
    inference = config.inference
    return ScorerSettings(
        runner=RunnerSettings(device=inference.device, intra_op_threads=inference.intra_op_threads),
        variant=inference.variant, max_batch_size=inference.max_batch_size,
        reload_interval_s=inference.reload_interval_s)


def result_type(model_metadata: dict):
    """The ROW type the operator returns for a model: result columns, model_version, error."""
    if model_metadata.get("handler", "tabular") == "text":
        fields = [DataTypes.FIELD(label, DataTypes.DOUBLE()) for label in model_metadata["labels"]]
        fields.append(DataTypes.FIELD("label", DataTypes.STRING()))
    else:
        fields = [DataTypes.FIELD("score", DataTypes.DOUBLE())]
    fields += [DataTypes.FIELD("model_version", DataTypes.STRING()), DataTypes.FIELD("error", DataTypes.STRING())]
    return DataTypes.ROW(fields)


def model_function(model: str, config: Config, on_swap: Callable[[str, str], None] | None = None):
    """A pandas UDF scoring with the serving version of ``model`` from the configured registry.

    ``on_swap(previous_tag, new_tag)`` is called in the worker after each hot swap (the jobs
    record it in the audit trail); it must be picklable, as the function travels to the workers.
    """
    registry = ModelRegistry(config.inference.registry_dir)
    metadata = registry.load(model).metadata
    return udf(ModelOperator(model, config.inference.registry_dir, scorer_settings(config), on_swap),
               result_type=result_type(metadata), func_type="pandas")
