"""The news scenarios: what the spike scenario injects, and how documents become events."""

from pathlib import Path

import numpy as np
import orjson

from sentiment.news import news_chunks, read_entities, spike_scenario, steady_scenario
from streaming.config import Config

ENTITIES = read_entities(Path(Config().sentiment.entities_file))
START_MS = 1_767_603_600_000


def test_the_spike_is_a_burst_of_negative_news_about_one_entity_inside_one_window():
    plan = spike_scenario(ENTITIES, count=3000, seed=3, event_rate=10, start_ms=START_MS, window_s=60)
    documents = plan.documents.assign(window=plan.times_ms // 60_000)
    about = documents[documents["entity"] == plan.burst_entity]
    negative_share = about.groupby("window")["label"].apply(lambda labels: (labels == "negative").mean())
    spike_window = negative_share.idxmax()
    assert negative_share[spike_window] > 0.4
    assert negative_share.drop(spike_window).max() < 0.3
    others = documents[documents["entity"] != plan.burst_entity]
    assert (others.groupby("window")["label"].apply(lambda labels: (labels == "negative").mean()) < 0.3).all()


def test_times_are_ordered_and_some_documents_are_reposted_verbatim():
    plan = spike_scenario(ENTITIES, count=2000, seed=5, event_rate=10, start_ms=START_MS, window_s=60)
    assert (np.diff(plan.times_ms) >= 0).all()
    assert plan.documents["text"].duplicated().sum() >= 20


def test_the_scenario_is_the_same_for_the_same_seed():
    one = spike_scenario(ENTITIES, count=500, seed=9, event_rate=10, start_ms=START_MS, window_s=60)
    two = spike_scenario(ENTITIES, count=500, seed=9, event_rate=10, start_ms=START_MS, window_s=60)
    assert one.documents.equals(two.documents) and (one.times_ms == two.times_ms).all()


def test_half_the_headlines_carry_their_entity_and_the_rest_only_name_the_company():
    plan = steady_scenario(ENTITIES, count=1000, seed=1, event_rate=10, start_ms=START_MS)
    carried = plan.documents["entity_field"] != ""
    assert 0.4 < carried.mean() < 0.6
    for text, entity in plan.documents.loc[~carried, ["text", "entity"]].itertuples(index=False):
        assert any(alias.lower() in text.lower() for alias in ENTITIES[entity])


def test_events_follow_the_news_schema_and_are_keyed_by_their_entity_field():
    plan = steady_scenario(ENTITIES, count=3, seed=1, event_rate=1, start_ms=START_MS)
    chunk = next(news_chunks(plan.documents, "news", plan.times_ms, seed=4))
    events = [orjson.loads(v) for v in chunk.values]
    assert [e["id"] for e in events] == ["news-4-0", "news-4-1", "news-4-2"]
    assert [e["event_time"] for e in events] == ["2026-01-05T09:00:00.000Z", "2026-01-05T09:00:01.000Z",
                                                 "2026-01-05T09:00:02.000Z"]
    for event, key in zip(events, chunk.keys):
        assert key == (event["entity"].encode() if "entity" in event else None)
