"""Test job: score feature rows from Kafka with a registry model, keeping partition and offset.

``{"a": 1.5}`` values on the transactions topic → the inference operator → JSON rows on the
fraud-scores topic with the input's partition and offset, so a test can check that every input
row is scored exactly once and in which order model versions were used.
"""

from functools import partial
from connectors.audit import record_model_swap
from connectors.flink_sql import json_kafka_sink, raw_kafka_source
from inference.operator import model_function
from streaming.job_env import JobEnvironment


def main() -> None:
    job = JobEnvironment.from_argv("score-features")
    config, t_env = job.config, job.table_env
    t_env.execute_sql(raw_kafka_source("rows_raw", config.topics.transactions, config, group_id="score-features"))
    t_env.execute_sql(json_kafka_sink(
        "scored", config.topics.fraud_scores, config,
        "in_partition INT, in_offset BIGINT, a DOUBLE, score DOUBLE, model_version STRING",
        key_field="input partition", transactional_id_prefix=f"score-features-{config.topics.fraud_scores.name}"))
    t_env.create_temporary_function("score_rows", model_function(
        job.params["model"], config, on_swap=partial(record_model_swap, config, "score-features")))
    t_env.execute_sql("""
        INSERT INTO scored
        SELECT CAST(CAST(kafka_partition AS STRING) AS BYTES), kafka_partition, kafka_offset, a,
               s.score, s.model_version, rowtime
        FROM (SELECT kafka_partition, kafka_offset, rowtime, a, score_rows(a) AS s
              FROM (SELECT *, TRY_CAST(JSON_VALUE(CAST(payload AS STRING), '$.a') AS DOUBLE) AS a FROM rows_raw))
    """)


if __name__ == "__main__":
    main()
