"""Benchmark job: the inference operator alone, on generated rows (datagen → model → blackhole).

Parameters: ``model`` (a tabular registry model) and ``rows``. ``streamscore bench inference``
submits it and reads the operator's metrics while it runs.
"""

from inference.handlers import TabularHandler
from inference.operator import model_function
from inference.registry import ModelRegistry
from streaming.job_env import JobEnvironment


def main() -> None:
    job = JobEnvironment.from_argv("inference-bench")
    config, t_env = job.config, job.table_env
    model = job.params["model"]
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
    t_env.execute_sql("CREATE TEMPORARY TABLE scored (score DOUBLE, model_version STRING) "
                      "WITH ('connector' = 'blackhole')")
    t_env.create_temporary_function("score_rows", model_function(model, config))
    arguments = ", ".join(f"`{f}`" for f in features)
    t_env.execute_sql(f"""INSERT INTO scored
SELECT s.score, s.model_version FROM (SELECT score_rows({arguments}) AS s FROM generated_rows)""")


if __name__ == "__main__":
    main()
