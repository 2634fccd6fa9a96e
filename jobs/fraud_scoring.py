"""Card-fraud scoring: transactions and delayed fraud labels in, scores, alerts and Redis out.

Reads top to bottom as the data flows:

1. source: ``transactions`` and ``fraud-labels`` in one Kafka source (raw bytes, record time =
   event time, per-partition watermarks);
2. validate: every message against its topic's schema in the JVM; invalid or late ones go to
   ``dead-letter``;
3. features (JVM DataStream operators, event time, keyed state): per-terminal fraud risk from the
   labels known so far, then per-customer spending windows — the Fraud Detection Handbook's
   features;
4. score: the ONNX model in Arrow batches (the inference operator);
5. sinks: ``fraud-scores`` for every transaction, ``fraud-alerts`` at or above the threshold,
   Redis ``fraud:customer:{id}`` (newest event wins), and ``dead-letter`` for rows the model
   could not score. All Kafka outputs are transactional (exactly once). With
   ``fraud.pseudonym_key_file`` the outputs name each card by its keyed pseudonym.
"""

from functools import partial
from pathlib import Path

from connectors.audit import record_model_swap
from connectors.dead_letter import dead_letter_insert, dead_letters, declare_dead_letters
from connectors.flink_sql import json_kafka_sink, raw_kafka_source
from connectors.redis import redis_hash_sink
from fraud.model_features import feature_arguments
from inference.operator import model_function
from streaming.job_env import JobEnvironment
from streaming.jvm_functions import fraud_stages, register, set_job_parameters

SCORE_COLUMNS = ("schema_version INT, transaction_id STRING, customer_id STRING, terminal_id STRING, "
                 "event_time STRING, amount DOUBLE, score DOUBLE, model_version STRING")
FEATURE_COLUMNS = ("transaction_id STRING, customer_id STRING, terminal_id STRING, event_time STRING, "
                   "amount DOUBLE, tx_during_weekend DOUBLE, tx_during_night DOUBLE, "
                   + ", ".join(f"customer_nb_tx_{w} DOUBLE, customer_avg_amount_{w} DOUBLE" for w in (1, 7, 30)) + ", "
                   + ", ".join(f"terminal_nb_tx_{w} DOUBLE, terminal_risk_{w} DOUBLE" for w in (1, 7, 30)))


def main() -> None:
    job = JobEnvironment.from_argv("fraud")
    config, t_env = job.config, job.table_env
    topics = config.topics
    t_env.create_temporary_function("score_fraud", model_function(
        config.fraud.model, config, on_swap=partial(record_model_swap, config, "fraud")))

    # 1. source
    t_env.execute_sql(raw_kafka_source("events_raw", [topics.transactions, topics.fraud_labels], config,
                                       group_id=f"streamscore-fraud-{topics.transactions.name}"))

    # 2-3. validate, then the features: terminal risk (transactions and labels of a terminal),
    #      then customer spending, in keyed DataStream operators of the JVM
    stages = fraud_stages(t_env, t_env.from_path("events_raw"), topics.transactions.name, topics.fraud_labels.name,
                          round(config.fraud.label_delay_days * 86_400_000))
    for name, table in stages.items():
        t_env.create_temporary_view(name, table)
    t_env.create_temporary_view("features", t_env.sql_query("""
        SELECT *,
               CAST(DAYOFWEEK(TO_TIMESTAMP_LTZ(tx_time_ms, 3)) IN (1, 7) AS DOUBLE) AS tx_during_weekend,
               CAST(HOUR(TO_TIMESTAMP_LTZ(tx_time_ms, 3)) <= 6 AS DOUBLE) AS tx_during_night
        FROM window_features"""))

    # 4. score
    t_env.create_temporary_view("scored", t_env.sql_query(f"""
        SELECT *, s.score AS score, s.model_version AS model_version, s.error AS error
        FROM (SELECT *, score_fraud({feature_arguments(config)}) AS s FROM features)"""))

    # 5. sinks
    declare_dead_letters(t_env, "dead_letter", config, job="fraud", stages=["validate", "features", "inference"])
    t_env.execute_sql(json_kafka_sink("fraud_scores", topics.fraud_scores, config, SCORE_COLUMNS,
                                      key_field="customer_id",
                                      transactional_id_prefix=f"streamscore-fraud-scores-{topics.fraud_scores.name}"))
    t_env.execute_sql(json_kafka_sink("fraud_alerts", topics.fraud_alerts, config,
                                      SCORE_COLUMNS + ", threshold DOUBLE, reason STRING", key_field="customer_id",
                                      transactional_id_prefix=f"streamscore-fraud-alerts-{topics.fraud_alerts.name}"))
    t_env.execute_sql(redis_hash_sink(
        "customer_scores", config,
        "customer_id STRING, score DOUBLE, transaction_id STRING, event_time STRING, model_version STRING, "
        "tx_time_ms BIGINT, kafka_offset BIGINT",
        key=config.redis.key_prefix + "fraud:customer:{customer_id}", version_fields="tx_time_ms,kafka_offset",
        ttl_s=config.redis.customer_ttl_s))

    customer, key = "customer_id", "kafka_key"
    if config.fraud.pseudonym_key_file:
        register(t_env, "pseudonymise")
        set_job_parameters(t_env, {"streamscore.pseudonym.key-file": str(Path(config.fraud.pseudonym_key_file).resolve())})
        customer = "pseudonymise(customer_id)"
        key = f"ENCODE({customer}, 'UTF-8')"

    threshold = config.fraud.alert_threshold
    statements = t_env.create_statement_set()
    tx_topic = f"'{topics.transactions.name}'"
    statements.add_insert_sql(dead_letter_insert("dead_letter", [
        dead_letters("validate_errors", "validate", "error", where="TRUE"),
        dead_letters("feature_errors", "features", "error", where="TRUE"),
        dead_letters("scored", "inference", "error", where="error IS NOT NULL", topic=tx_topic)]))
    score_values = f"{key}, 1, transaction_id, {customer}, terminal_id, event_time, amount, score, model_version"
    statements.add_insert_sql(f"""INSERT INTO fraud_scores
        SELECT {score_values}, TO_TIMESTAMP_LTZ(tx_time_ms, 3) FROM scored WHERE error IS NULL""")
    statements.add_insert_sql(f"""INSERT INTO fraud_alerts
        SELECT {score_values}, {threshold}, 'score ' || CAST(ROUND(score, 4) AS STRING) || ' >= threshold {threshold}',
               TO_TIMESTAMP_LTZ(tx_time_ms, 3)
        FROM scored WHERE error IS NULL AND score >= {threshold}""")
    statements.add_insert_sql(f"""INSERT INTO customer_scores
        SELECT {customer}, score, transaction_id, event_time, model_version, tx_time_ms, kafka_offset
        FROM scored WHERE error IS NULL""")
    if config.fraud.emit_features:
        t_env.execute_sql(json_kafka_sink("fraud_features", topics.fraud_features, config, FEATURE_COLUMNS,
                                          key_field="customer_id",
                                          transactional_id_prefix=f"streamscore-fraud-features-{topics.fraud_features.name}"))
        columns = ", ".join(c.split()[0] for c in FEATURE_COLUMNS.split(", "))
        statements.add_insert_sql(f"""INSERT INTO fraud_features
            SELECT kafka_key, {columns}, TO_TIMESTAMP_LTZ(tx_time_ms, 3) FROM features""")
    statements.execute()


if __name__ == "__main__":
    main()
