"""The JVM functions of ``jvm/`` (shipped as streamscore-flink.jar) a job can call from SQL.

Per-event work stays in the JVM; Python only sees Arrow batches. A job registers what it uses and
passes the schemas to the JVM validators as job parameters, so both sides apply the same files.

Example Usage::

    register(t_env, "prepare_news_event")
    pass_schemas(t_env, {config.topics.news.name: "news"})
"""

from __future__ import annotations

from schemas.validation import SCHEMA_DIR

FUNCTIONS = {
    "count_dead_letter": "io.streamscore.flink.functions.CountDeadLetter",
    "pseudonymise": "io.streamscore.flink.functions.Pseudonymise",
    "prepare_news_event": "io.streamscore.flink.sentiment.PrepareNewsEvent",
    "deduplicate_texts": "io.streamscore.flink.sentiment.DeduplicateTexts",
    "spike_detector": "io.streamscore.flink.sentiment.SpikeDetector",
}


def register(t_env, *names: str) -> None:
    for name in names:
        t_env.execute_sql(f"CREATE TEMPORARY SYSTEM FUNCTION {name} AS '{FUNCTIONS[name]}' LANGUAGE JAVA")


def set_job_parameters(t_env, parameters: dict[str, str]) -> None:
    """Add ``parameters`` to the job's global parameters (what JVM functions read in ``open``)."""
    from pyflink.java_gateway import get_gateway

    # Set as a Java map: schema texts hold the ',' and ':' that the string form of the option
    # would have to quote.
    jvm = get_gateway().jvm
    configuration = t_env.get_config()._j_table_config.getConfiguration()
    option = jvm.org.apache.flink.configuration.PipelineOptions.GLOBAL_JOB_PARAMETERS
    merged = jvm.java.util.HashMap()
    existing = configuration.getOptional(option)
    if existing.isPresent():
        merged.putAll(existing.get())
    for key, value in parameters.items():
        merged.put(key, value)
    configuration.set(option, merged)


def pass_schemas(t_env, schema_of_topic: dict[str, str]) -> None:
    """Tell the JVM validators which schema each topic has, and give them the schema texts."""
    parameters = {f"streamscore.schema-of.{topic}": schema for topic, schema in schema_of_topic.items()}
    for schema in set(schema_of_topic.values()):
        parameters[f"streamscore.schema.{schema}"] = (SCHEMA_DIR / f"{schema}.schema.json").read_text()
    set_job_parameters(t_env, parameters)



def fraud_stages(t_env, raw, transactions_topic: str, labels_topic: str, label_delay_ms: int) -> dict:
    """The fraud job's validation and feature stages (``FraudFeatureStages.java``) on raw records.

    ``raw`` is the Kafka source table (``connectors.flink_sql.raw_kafka_source``) of both topics.
    Returns the tables ``window_features`` (a row per valid transaction with the twelve window
    features and a ``rowtime`` attribute), ``validate_errors`` and ``feature_errors`` (dead letters
    of the validation and of the feature stages: ``kafka_key, payload, kafka_topic,
    kafka_partition, kafka_offset, error``).
    """
    from pyflink.java_gateway import get_gateway
    from pyflink.table import Table

    def schema(name: str) -> str:
        return (SCHEMA_DIR / f"{name}.schema.json").read_text()

    stages = get_gateway().jvm.io.streamscore.flink.features.FraudFeatureStages
    outputs = stages.apply(t_env._j_tenv, raw._j_table, transactions_topic, schema("transactions"),
                           labels_topic, schema("fraud-labels"), label_delay_ms)
    return {"window_features": Table(outputs.features(), t_env),
            "validate_errors": Table(outputs.validateErrors(), t_env),
            "feature_errors": Table(outputs.featureErrors(), t_env)}
