"""Benchmark job: the inference operator alone, on generated rows (datagen → model → blackhole).

Parameters: ``model`` (a tabular registry model), ``rows`` and ``mode``: ``arrow`` (the
operator: Arrow batches to a pandas function, which Flink runs in process mode only), or
``row-process`` / ``row-thread`` (one model call per row from a plain Python function, in the
Python worker process or embedded in the TaskManager), the per-record design the operator's
batching replaces. ``streamscore bench inference`` submits it and reads the operator's metrics
while it runs.
"""

import numpy as np
from pyflink.table import DataTypes
from pyflink.table.udf import FunctionContext, ScalarFunction, udf

from inference.handlers import TabularHandler
from inference.operator import model_function, scorer_settings
from inference.registry import ModelRegistry
from inference.runner import OnnxRunner
from streaming.job_env import JobEnvironment

PYTHON_MODES = {"row-process": "process", "row-thread": "thread"}


class RowScorer(ScalarFunction):
    """One ONNX Runtime call per row, with the operator's runner settings."""

    def __init__(self, model: str, registry_dir: str, variant: str, settings):
        self.model, self.registry_dir, self.variant, self.settings = model, registry_dir, variant, settings

    def open(self, function_context: FunctionContext) -> None:
        version = ModelRegistry(self.registry_dir).load(self.model)
        self.handler = TabularHandler(version.metadata)
        self.runner = OnnxRunner(version.file(self.variant), self.settings)
        self.runner.open()

    def eval(self, *values) -> float:
        row = np.array(values, dtype=np.float64)[None, :]
        inputs = {name: np.ascontiguousarray(row[:, columns], dtype=dtype) for name, columns, dtype in self.handler.groups}
        return float(self.handler.results(self.runner.run(inputs))["score"][0])


def main() -> None:
    job = JobEnvironment.from_argv("inference-bench")
    config, t_env = job.config, job.table_env
    model, mode = job.params["model"], job.params.get("mode", "arrow")
    features = TabularHandler(ModelRegistry(config.inference.registry_dir).load(model).metadata).features
    columns = ",\n  ".join(f"`{f}` DOUBLE" for f in features)
    ranges = ",\n  ".join(f"'fields.{f}.min' = '0', 'fields.{f}.max' = '100'" for f in features)
    t_env.execute_sql(f"""CREATE TEMPORARY TABLE generated_rows (
  {columns}
) WITH (
  'connector' = 'datagen',
  'number-of-rows' = '{job.params["rows"]}',
  'rows-per-second' = '1000000000',
  {ranges}
)""")
    arguments = ", ".join(f"`{f}`" for f in features)
    if mode == "arrow":
        t_env.execute_sql("CREATE TEMPORARY TABLE scored (score DOUBLE, model_version STRING) "
                          "WITH ('connector' = 'blackhole')")
        t_env.create_temporary_function("score_rows", model_function(model, config))
        t_env.execute_sql(f"""INSERT INTO scored
SELECT s.score, s.model_version FROM (SELECT score_rows({arguments}) AS s FROM generated_rows)""")
        return
    t_env.get_config().set("python.execution-mode", PYTHON_MODES[mode])
    t_env.execute_sql("CREATE TEMPORARY TABLE scored (score DOUBLE) WITH ('connector' = 'blackhole')")
    scorer = RowScorer(model, config.inference.registry_dir, config.inference.variant, scorer_settings(config).runner)
    t_env.create_temporary_function("score_row", udf(scorer, result_type=DataTypes.DOUBLE()))
    t_env.execute_sql(f"INSERT INTO scored SELECT score_row({arguments}) FROM generated_rows")


if __name__ == "__main__":
    main()
