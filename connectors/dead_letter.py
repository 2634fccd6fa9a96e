"""The ``dead-letter`` topic: where every event a job cannot process goes, with the reason.

One record per failed event: ``source_topic, partition, offset, stage, error, payload`` (the
original bytes, base64) and ``event_time`` (when it failed), keyed by the original key.

Example Usage::

    declare_dead_letters(t_env, "dead_letter", config, job="fraud", stages=["validate", "features", "inference"])
    statements.add_insert_sql(dead_letter_insert("dead_letter", [
        dead_letters("checked", stage="validate", error="error", where="error IS NOT NULL"),
        dead_letters("scored", stage="inference", error="error", where="error IS NOT NULL")]))
"""

from __future__ import annotations

from connectors.flink_sql import json_kafka_sink
from streaming.config import Config
from streaming.jvm_functions import register, set_job_parameters

STAGES = ("validate", "features", "inference", "dedup")

COLUMNS = ("schema_version INT, source_topic STRING, `partition` INT, `offset` BIGINT, stage STRING, "
           "error STRING, payload STRING, event_time STRING")
NOW_ISO = "DATE_FORMAT(CURRENT_TIMESTAMP, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')"


def declare_dead_letters(t_env, table: str, config: Config, job: str, stages: list[str]) -> None:
    """The job's dead-letter sink, and ``count_dead_letter`` with a 0 counter per known reason of ``stages``."""
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown dead-letter stages {sorted(unknown)}")
    register(t_env, "count_dead_letter")
    set_job_parameters(t_env, {"streamscore.dead-letter.stages": ",".join(stages)})
    t_env.execute_sql(dead_letter_sink(table, config, job))


def dead_letter_sink(table: str, config: Config, job: str) -> str:
    """The Kafka sink of a job's dead letters (exactly once, like every output)."""
    return json_kafka_sink(table, config.topics.dead_letter, config, COLUMNS, key_field="the original key",
                           transactional_id_prefix=f"streamscore-{job}-dead-letter-{config.topics.dead_letter.name}")


def refusal(validation_error: str) -> str:
    """SQL for why a source row is refused: its validation error, else ``late_event`` when its
    event time is behind the watermark (a late row cannot join the event-time stages), else NULL."""
    return (f"COALESCE({validation_error}, CASE WHEN rowtime <= CURRENT_WATERMARK(rowtime) "
            "THEN 'late_event: event time ' || CAST(rowtime AS STRING) || ' is behind the watermark' END)")


def dead_letters(source: str, stage: str, error: str, where: str, topic: str = "kafka_topic") -> str:
    """The dead-letter rows of ``source``: those that match ``where``, with their reason.

    ``source`` must have ``kafka_key, payload, kafka_partition, kafka_offset`` and the columns
    named by ``error`` and ``topic`` (SQL expressions). Each row is counted by stage and reason
    (metric ``dead_letters``; ``declare_dead_letters`` registers ``count_dead_letter``).
    """
    if stage not in STAGES:
        raise ValueError(f"unknown dead-letter stage {stage}")
    return (f"SELECT kafka_key, 1, {topic}, kafka_partition, kafka_offset, '{stage}', "
            f"count_dead_letter('{stage}', {error}), "
            f"TO_BASE64(payload), {NOW_ISO}, CURRENT_TIMESTAMP FROM {source} WHERE {where}")


def dead_letter_insert(table: str, selects: list[str]) -> str:
    """One ``INSERT`` of every stage's dead letters: one Kafka sink, one transactional id."""
    return f"INSERT INTO {table}\n" + "\nUNION ALL\n".join(selects)
