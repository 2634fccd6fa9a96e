"""The Kafka tables' DDL carries the user's client settings for the jobs' sources and sinks."""

from __future__ import annotations

from connectors.flink_sql import json_kafka_sink, raw_kafka_source
from streaming.config import load_config


def test_job_client_settings_reach_the_kafka_tables_and_win_over_the_defaults():
    config = load_config(env={"STREAMSCORE_KAFKA__JOB_CONSUMER__FETCH.MIN.BYTES": "65536",
                              "STREAMSCORE_KAFKA__JOB_PRODUCER__LINGER.MS": "5"})
    topic = config.topics.transactions
    source = raw_kafka_source("t", topic, config, group_id="g")
    sink = json_kafka_sink("s", topic, config, "a STRING", "a", transactional_id_prefix="p")
    assert "'properties.fetch.min.bytes' = '65536'" in source
    assert "'properties.linger.ms' = '5'" in sink and "'properties.linger.ms' = '20'" not in sink
    assert "'properties.compression.type' = 'lz4'" in sink


def test_sinks_linger_20_ms_by_default():
    config = load_config(env={})
    sink = json_kafka_sink("s", config.topics.fraud_scores, config, "a STRING", "a", transactional_id_prefix="p")
    assert "'properties.linger.ms' = '20'" in sink
