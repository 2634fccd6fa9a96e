"""A job that fails in every run, as one with a configuration mistake does: its function cannot open."""

from pyflink.table import DataTypes
from pyflink.table.udf import ScalarFunction, udf

from streaming.job_env import JobEnvironment


class Misconfigured(ScalarFunction):
    def open(self, function_context):
        raise RuntimeError("misconfigured: the model registry /nonexistent has no model")

    def eval(self, value):
        return value


def main() -> None:
    job = JobEnvironment.from_argv("fails-at-open")
    t_env = job.table_env
    t_env.create_temporary_function("misconfigured", udf(Misconfigured(), result_type=DataTypes.INT()))
    t_env.execute_sql("CREATE TEMPORARY TABLE numbers (n INT) WITH ('connector' = 'datagen', 'rows-per-second' = '1')")
    t_env.execute_sql("CREATE TEMPORARY TABLE nowhere (n INT) WITH ('connector' = 'blackhole')")
    t_env.execute_sql("INSERT INTO nowhere SELECT misconfigured(n) FROM numbers")


if __name__ == "__main__":
    main()
