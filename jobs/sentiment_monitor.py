"""Financial-news sentiment monitoring: news in, document scores, entity windows and spike alerts out.

Reads top to bottom as the data flows:

1. source: the ``news`` topic (raw bytes, record time = event time, per-partition watermarks);
2. prepare (JVM, one JSON parse per event): validate against the topic's schema, clean the text
   (markup, URLs, control characters, whitespace, length bound), resolve the entity (the event's
   own, else the configured dictionary of company names), and a de-duplication key; invalid,
   empty or late events go to ``dead-letter``;
3. de-duplicate (JVM, keyed state with an event-time horizon): a repeated text is dead-lettered
   as ``duplicate_text`` and never reaches the model;
4. score: the transformer through the ONNX operator, in Arrow batches;
5. per-entity tumbling windows of event time: count, mean negative probability, negative share;
6. spikes (JVM, keyed state): each window against the entity's own EWMA baseline;
7. sinks: ``sentiment-scores`` and Redis ``sentiment:doc:{id}`` per document, Redis
   ``sentiment:entity:{entity}`` per window, ``sentiment-alerts`` per spike, ``dead-letter``.
   Kafka outputs are transactional; Redis writes are versioned (replays change nothing).
"""

from functools import partial
from pathlib import Path

from connectors.audit import record_model_swap
from connectors.dead_letter import dead_letter_insert, dead_letters, declare_dead_letters, refusal
from connectors.flink_sql import json_kafka_sink, raw_kafka_source
from connectors.redis import redis_hash_sink
from inference.operator import model_function
from streaming.job_env import JobEnvironment
from streaming.jvm_functions import pass_schemas, register, set_job_parameters

SCORE_COLUMNS = ("schema_version INT, id STRING, event_time STRING, label STRING, "
                 "scores ROW<negative DOUBLE, neutral DOUBLE, positive DOUBLE>, model_version STRING, "
                 "entity STRING, source STRING")
ALERT_COLUMNS = ("schema_version INT, entity STRING, window_start STRING, window_end STRING, `count` BIGINT, "
                 "negative_share DOUBLE, mean_negative DOUBLE, baseline DOUBLE, deviation DOUBLE, reason STRING, "
                 "model_version STRING")
ISO = "'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''"


def main() -> None:
    job = JobEnvironment.from_argv("sentiment")
    config, t_env = job.config, job.table_env
    topics, settings, prefix = config.topics, config.sentiment, config.redis.key_prefix
    register(t_env, "prepare_news_event", "deduplicate_texts", "spike_detector")
    pass_schemas(t_env, {topics.news.name: "news"})
    set_job_parameters(t_env, {
        "streamscore.sentiment.entities": Path(settings.entities_file).read_text(),
        "streamscore.sentiment.unresolved-entity": settings.unresolved_entity,
        "streamscore.sentiment.max-text-chars": str(settings.max_text_chars),
        "streamscore.sentiment.dedup-horizon-ms": str(settings.dedup_horizon_s * 1000),
        "streamscore.sentiment.spike.min-count": str(settings.min_window_count),
        "streamscore.sentiment.spike.min-windows": str(settings.min_baseline_windows),
        "streamscore.sentiment.spike.alpha": str(settings.baseline_alpha),
        "streamscore.sentiment.spike.sigmas": str(settings.spike_sigmas),
        "streamscore.sentiment.spike.min-jump": str(settings.min_negative_share_jump),
    })
    t_env.create_temporary_function("score_sentiment", model_function(
        settings.model, config, on_swap=partial(record_model_swap, config, "sentiment")))

    # 1. source
    t_env.execute_sql(raw_kafka_source("news_raw", topics.news, config,
                                       group_id=f"streamscore-sentiment-{topics.news.name}"))

    # 2. prepare
    t_env.create_temporary_view("news_checked", t_env.sql_query(f"""
        SELECT kafka_key, payload, kafka_topic, kafka_partition, kafka_offset, rowtime,
               {refusal("p.error")} AS error,
               p.id, p.text, p.entity, p.source, p.event_time, p.time_ms, p.dedup_key
        FROM (SELECT *, prepare_news_event(kafka_topic, payload, rowtime) AS p FROM news_raw)"""))

    # 3. de-duplicate
    t_env.create_temporary_view("news_valid", t_env.sql_query("""
        SELECT id, text, entity, source, event_time, time_ms, kafka_key, payload, kafka_topic, kafka_partition,
               kafka_offset, dedup_key, rowtime
        FROM news_checked WHERE error IS NULL"""))
    t_env.create_temporary_view("news_deduplicated", t_env.sql_query("""
        SELECT * FROM deduplicate_texts(
            input => TABLE news_valid PARTITION BY dedup_key,
            on_time => DESCRIPTOR(rowtime), uid => 'dedup-texts-v1')"""))

    # 4. score
    t_env.create_temporary_view("scored", t_env.sql_query("""
        SELECT id, entity, source, event_time, time_ms, kafka_key, payload, kafka_topic, kafka_partition, kafka_offset,
               rowtime, s.negative AS negative, s.neutral AS neutral, s.positive AS positive, s.label AS label,
               s.model_version AS model_version, s.error AS error
        FROM (SELECT *, score_sentiment(text) AS s FROM news_deduplicated WHERE error IS NULL)"""))
    t_env.create_temporary_view("documents", t_env.sql_query("SELECT * FROM scored WHERE error IS NULL"))

    # 5. per-entity windows
    t_env.create_temporary_view("entity_windows", t_env.sql_query(f"""
        SELECT entity, window_start, window_end, window_time, COUNT(*) AS doc_count,
               AVG(negative) AS mean_negative,
               AVG(CAST(label = 'negative' AS DOUBLE)) AS negative_share,
               MAX(model_version) AS model_version
        FROM TABLE(TUMBLE(TABLE documents, DESCRIPTOR(rowtime), INTERVAL '{settings.window_s}' SECOND))
        WHERE entity <> '{settings.unresolved_entity}'
        GROUP BY entity, window_start, window_end, window_time"""))

    # 6. spikes
    t_env.create_temporary_view("entity_baselines", t_env.sql_query("""
        SELECT * FROM spike_detector(
            input => TABLE entity_windows PARTITION BY entity,
            on_time => DESCRIPTOR(window_time), uid => 'spike-detector-v1')"""))

    # 7. sinks
    declare_dead_letters(t_env, "dead_letter", config, job="sentiment", stages=["validate", "dedup", "inference"])
    t_env.execute_sql(json_kafka_sink(
        "sentiment_scores", topics.sentiment_scores, config, SCORE_COLUMNS, key_field="entity",
        transactional_id_prefix=f"streamscore-sentiment-scores-{topics.sentiment_scores.name}"))
    t_env.execute_sql(json_kafka_sink(
        "sentiment_alerts", topics.sentiment_alerts, config, ALERT_COLUMNS, key_field="entity",
        transactional_id_prefix=f"streamscore-sentiment-alerts-{topics.sentiment_alerts.name}"))
    t_env.execute_sql(redis_hash_sink(
        "document_scores", config,
        "id STRING, label STRING, scores STRING, entity STRING, event_time STRING, model_version STRING, "
        "time_ms BIGINT, kafka_offset BIGINT",
        key=prefix + "sentiment:doc:{id}", version_fields="time_ms,kafka_offset", ttl_s=config.redis.doc_ttl_s))
    t_env.execute_sql(redis_hash_sink(
        "entity_aggregates", config,
        "entity STRING, `count` BIGINT, mean_negative DOUBLE, negative_share DOUBLE, window_start STRING, "
        "window_end STRING, baseline DOUBLE, model_version STRING, end_ms BIGINT, doc_count BIGINT",
        key=prefix + "sentiment:entity:{entity}", version_fields="end_ms,doc_count"))

    statements = t_env.create_statement_set()
    statements.add_insert_sql(dead_letter_insert("dead_letter", [
        dead_letters("news_checked", "validate", "error", where="error IS NOT NULL"),
        dead_letters("news_deduplicated", "dedup", "error", where="error IS NOT NULL"),
        dead_letters("scored", "inference", "error", where="error IS NOT NULL")]))
    statements.add_insert_sql("""INSERT INTO sentiment_scores
        SELECT CAST(entity AS BYTES), 1, id, event_time, label, ROW(negative, neutral, positive), model_version,
               entity, source, rowtime
        FROM documents""")
    statements.add_insert_sql("""INSERT INTO document_scores
        SELECT id, label,
               JSON_OBJECT('negative' VALUE negative, 'neutral' VALUE neutral, 'positive' VALUE positive),
               entity, event_time, model_version, time_ms, kafka_offset
        FROM documents""")
    bounds = f"DATE_FORMAT(window_start, {ISO}), DATE_FORMAT(window_end, {ISO})"
    statements.add_insert_sql(f"""INSERT INTO entity_aggregates
        SELECT entity, doc_count, mean_negative, negative_share, {bounds}, baseline, model_version,
               UNIX_TIMESTAMP(DATE_FORMAT(window_end, 'yyyy-MM-dd HH:mm:ss')) * 1000, doc_count
        FROM entity_baselines""")
    statements.add_insert_sql(f"""INSERT INTO sentiment_alerts
        SELECT CAST(entity AS BYTES), 1, entity, {bounds}, doc_count, negative_share, mean_negative, baseline, deviation,
               reason, model_version, CAST(window_end AS TIMESTAMP_LTZ(3))
        FROM entity_baselines WHERE reason IS NOT NULL""")
    statements.execute()


if __name__ == "__main__":
    main()
