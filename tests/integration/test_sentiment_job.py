"""The sentiment job on the real stack: the spike scenario, de-duplication, bad input, Redis."""

from __future__ import annotations

import base64

import orjson
import pandas as pd
import pytest

from connectors.redis import connect
from sentiment.news import read_entities, spike_scenario
from tests.support.stack import flush_news_time, publish_news, running_job, wait_for_messages

pytestmark = [pytest.mark.stack, pytest.mark.slow]
START_MS = 1_767_603_600_000  # 2026-01-05T09:00:00Z, a window boundary
BAD = {
    "malformed_json": b'{"id": "bad-1", "text": ',
    "missing_field": orjson.dumps({"id": "bad-2", "event_time": "2026-01-05T09:00:00.000Z"}),
    "empty_text": orjson.dumps({"id": "bad-3", "event_time": "2026-01-05T09:00:00.000Z",
                                "text": "<div><img src='x'></div> https://example.com/only-a-link"}),
}


@pytest.fixture
def sentiment_config(job_config):
    return job_config


def test_the_spike_scenario_alerts_for_the_burst_entity_alone_and_every_event_lands_once(sentiment_config):
    config = sentiment_config
    window_ms = config.sentiment.window_s * 1000
    plan = spike_scenario(read_entities(config.sentiment.entities_file), count=3600, seed=11, event_rate=10,
                          start_ms=START_MS, window_s=config.sentiment.window_s)
    documents = plan.documents.assign(id=[f"news-1-{i}" for i in range(len(plan.documents))],
                                      time_ms=plan.times_ms)
    documents["text_key"] = documents["text"].str.lower()
    texts = documents["text_key"].nunique()
    repeats = len(documents) - texts
    assert repeats > 10  # the scenario reposts some documents

    with running_job(config, "sentiment"):
        publish_news(config, plan, bad=[(payload, START_MS) for payload in BAD.values()])
        flush_news_time(config, int(plan.times_ms.max()) + 3 * window_ms)
        scores = wait_for_messages(config, config.topics.sentiment_scores.name, texts + 1)
        alerts = wait_for_messages(config, config.topics.sentiment_alerts.name, 1, timeout_s=60)
        dead = wait_for_messages(config, config.topics.dead_letter.name, repeats + len(BAD), timeout_s=60)

    # Each text is scored once (whichever copy arrived first); every other copy is a dead letter.
    scored = pd.DataFrame([s for s in scores if not s["id"].startswith("flush-")])
    assert scored["id"].is_unique
    by_text = documents.set_index("id").loc[scored["id"], "text_key"]
    assert by_text.is_unique and len(by_text) == texts
    assert scored["label"].isin(["negative", "neutral", "positive"]).all()
    assert all(abs(sum(s.values()) - 1) < 1e-6 for s in scored["scores"])
    letters = {letter["error"].split(":")[0]: letter for letter in dead if not letter["error"].startswith("duplicate")}
    assert set(letters) == set(BAD)
    for code, payload in BAD.items():
        assert base64.b64decode(letters[code]["payload"]) == payload
    duplicates = [letter for letter in dead if letter["error"].startswith("duplicate_text")]
    assert {letter["stage"] for letter in duplicates} == {"dedup"}
    duplicate_ids = [orjson.loads(base64.b64decode(letter["payload"]))["id"] for letter in duplicates]
    assert sorted(duplicate_ids + scored["id"].tolist()) == sorted(documents["id"])

    # Entities: from the event, or resolved from the company named in the text.
    truth = scored.merge(documents[["id", "entity"]], on="id", suffixes=("", "_planned"))
    assert (truth["entity"] == truth["entity_planned"]).all()

    # One alert: the burst entity, within two windows of the burst's start.
    burst_start = int(documents.loc[documents["entity"].eq(plan.burst_entity)
                                    & (documents["time_ms"] >= documents["time_ms"].quantile(0.6))
                                    & documents["label"].eq("negative"), "time_ms"].min())
    assert {a["entity"] for a in alerts} == {plan.burst_entity}, alerts
    window_start_ms = pd.Timestamp(alerts[0]["window_start"]).value // 1_000_000
    assert burst_start // window_ms * window_ms <= window_start_ms < burst_start + 2 * window_ms
    assert alerts[0]["negative_share"] > alerts[0]["baseline"] and alerts[0]["reason"].startswith("negative_spike")

    # Redis: a hash per document and the latest window per entity.
    client = connect(config, decode_responses=True)
    prefix = config.redis.key_prefix
    doc = client.hgetall(f"{prefix}sentiment:doc:{scored['id'].iloc[0]}")
    assert doc["label"] == scored["label"].iloc[0] and doc["entity"] == scored["entity"].iloc[0]
    assert orjson.loads(doc["scores"]).keys() == {"negative", "neutral", "positive"}
    assert len(list(client.scan_iter(f"{prefix}sentiment:doc:*", count=1000))) == len(scores)
    scored_times = documents.set_index("id").loc[scored["id"]].groupby("entity")["time_ms"].max()
    for entity, last_ms in scored_times.items():
        aggregate = client.hgetall(f"{prefix}sentiment:entity:{entity}")
        last_window_end = pd.Timestamp(last_ms // window_ms * window_ms + window_ms, unit="ms", tz="UTC")
        assert pd.Timestamp(aggregate["window_end"]) == last_window_end, (entity, aggregate)
        assert int(aggregate["count"]) >= 1 and 0 <= float(aggregate["negative_share"]) <= 1
        assert aggregate["model_version"].startswith("sentiment:")
    client.delete(*client.keys(f"{prefix}*"))
