"""News documents for the ``news`` topic: a CSV of texts, or built-in financial headlines, with
event times; and the spike scenario, a steady stream with a burst of negative news about one entity.

The built-in headlines are templates written for this project (the PhraseBank data may not ship
with it): each carries its intended label, so a scenario knows what it injected.

Example Usage::

    plan = spike_scenario(entities, count=3000, seed=7)
    for chunk in news_chunks(plan.documents, "news", plan.times_ms):
        publisher.send(chunk)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from fraud.events import EventChunk, iso_strings
from streaming.errors import UserError

TEMPLATES = {
    "negative": [
        "{name} issues a profit warning as orders fall sharply",
        "{name} swings to an operating loss of EUR {m} million",
        "{name} to cut {n} jobs after sales dropped {p} percent",
        "Shares in {name} plunged {p} percent after weak quarterly results",
        "{name} lowers its full-year outlook, citing collapsing demand",
        "{name} net sales decreased by {p} percent to EUR {m} million",
        "Regulators fine {name} EUR {m} million over misleading disclosures",
        "{name} warns of a significantly weaker result for the current quarter",
        "{name} operating profit fell to EUR {m} million from EUR {m2} million",
        "Credit agency downgrades {name} on mounting losses",
    ],
    "neutral": [
        "{name} will publish its interim report on {day} {month}",
        "{name} is headquartered in Helsinki and employs about {n} people",
        "{name} has appointed a new head of investor relations",
        "The annual general meeting of {name} will be held in {month}",
        "{name} shares were traded on the Helsinki stock exchange today",
        "{name} announced the composition of its nomination board",
        "{name} will hold a capital markets day in {month}",
        "{name} signed an agreement to lease new office space in Espoo",
    ],
    "positive": [
        "{name} net sales rose {p} percent to EUR {m} million",
        "{name} wins a EUR {m} million order from a major customer",
        "{name} operating profit increased to EUR {m2} million from EUR {m} million",
        "{name} raises its full-year profit guidance after strong demand",
        "Shares in {name} jumped {p} percent on record quarterly earnings",
        "{name} reports its best quarterly result in a decade",
    ],
}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
CITIES = ["HELSINKI", "ESPOO", "STOCKHOLM", "OSLO", "TAMPERE", "VANTAA"]
STEADY_MIX = {"negative": 0.12, "neutral": 0.58, "positive": 0.30}


@dataclass
class NewsPlan:
    """Documents to publish (columns ``text, label, entity, entity_field``) and their event times."""

    documents: pd.DataFrame
    times_ms: np.ndarray
    burst_entity: str | None = None


def read_entities(path: Path) -> dict[str, list[str]]:
    try:
        return orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise UserError(f"entity dictionary {path} could not be read: {exc}") from None


def read_news_csv(path: Path) -> pd.DataFrame:
    """A CSV with a ``text`` column and optionally ``entity``, ``source``, ``url``, ``label``."""
    if not path.is_file():
        raise UserError(f"{path} does not exist")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} could not be read as CSV: {exc}") from None
    if "text" not in frame.columns:
        raise UserError(f"{path} has no text column (columns: {', '.join(frame.columns)})")
    return frame


def headlines(rng: np.random.Generator, labels: np.ndarray, names: np.ndarray) -> list[str]:
    """One templated headline per (label, company name)."""
    texts = []
    for label, name in zip(labels, names):
        options = TEMPLATES[label]
        template = options[rng.integers(len(options))]
        m = int(rng.integers(5, 900))
        # A wire-style dateline, so that independent headlines rarely repeat word for word.
        dateline = f"{CITIES[rng.integers(len(CITIES))]}, {MONTHS[rng.integers(12)]} {rng.integers(1, 29)} - "
        texts.append(dateline + template.format(name=name, m=m, m2=int(m * rng.uniform(0.4, 1.6)) + 1,
                                                n=int(rng.integers(20, 4000)), p=int(rng.integers(2, 60)),
                                                day=int(rng.integers(1, 29)), month=MONTHS[rng.integers(12)]))
    return texts


def steady_documents(count: int, entities: dict[str, list[str]], rng: np.random.Generator,
                     pool: pd.DataFrame | None = None, entity_ids: list[str] | None = None) -> pd.DataFrame:
    """``count`` documents about ``entity_ids`` (default: all), labels mixed as in financial news.

    Half the built-in headlines carry their entity in the ``entity`` field; the other half only
    name the company in the text, for the job's dictionary to resolve. Texts from ``pool`` (a
    CSV) get an entity field drawn at random when they have none.
    """
    ids = np.array(entity_ids or list(entities))
    entity = ids[rng.integers(len(ids), size=count)]
    if pool is not None:
        rows = pool.iloc[rng.integers(len(pool), size=count)].reset_index(drop=True)
        frame = pd.DataFrame({"text": rows["text"], "label": rows.get("label", pd.Series([""] * count)),
                              "entity": rows["entity"] if "entity" in rows else entity})
        frame["entity_field"] = frame["entity"]
        return frame
    labels = rng.choice(list(STEADY_MIX), size=count, p=list(STEADY_MIX.values()))
    names = np.array([_name(entities, e, rng) for e in entity])
    carries_field = rng.random(count) < 0.5
    return pd.DataFrame({"text": headlines(rng, labels, names), "label": labels, "entity": entity,
                         "entity_field": np.where(carries_field, entity, "")})


def _name(entities: dict[str, list[str]], entity: str, rng: np.random.Generator) -> str:
    aliases = entities[entity] or [entity]
    return aliases[rng.integers(len(aliases))]


def steady_scenario(entities: dict[str, list[str]], count: int, seed: int, event_rate: float,
                    start_ms: int, pool: pd.DataFrame | None = None) -> NewsPlan:
    rng = np.random.default_rng(seed)
    documents = pool.iloc[:count].reset_index(drop=True) if pool is not None else None
    if documents is not None:
        documents = documents.assign(entity_field=documents.get("entity", pd.Series([""] * len(documents))))
    else:
        documents = steady_documents(count, entities, rng)
    return NewsPlan(documents, start_ms + (np.arange(len(documents)) * 1000 / event_rate).astype(np.int64))


def spike_scenario(entities: dict[str, list[str]], count: int, seed: int, event_rate: float, start_ms: int,
                   window_s: int, pool: pd.DataFrame | None = None, active_entities: int = 5,
                   burst_size: int | None = None, duplicate_share: float = 0.02) -> NewsPlan:
    """Steady news about ``active_entities`` entities, then a burst of negative news about one.

    The burst starts at 70% of the timeline, at the start of a window, and fills half a window
    with ``burst_size`` negative headlines (default: as many as the entity's usual traffic in a
    window, at least 20) on top of the steady traffic, so it lands in one or two windows. Some
    documents are reposted verbatim under a new id shortly after (``duplicate_share``).
    """
    rng = np.random.default_rng(seed)
    ids = list(entities)[:active_entities]
    burst_entity = ids[0]
    steady = steady_documents(count, entities, rng, pool=pool, entity_ids=ids)
    times = start_ms + np.sort(rng.uniform(0, count * 1000 / event_rate, size=count)).astype(np.int64)
    window_ms = window_s * 1000
    burst_start = (int(times[0] + 0.7 * (times[-1] - times[0])) // window_ms) * window_ms
    usual = int(event_rate * window_s / len(ids))
    size = burst_size or max(20, usual)
    burst = pd.DataFrame({"text": headlines(rng, np.array(["negative"] * size),
                                            np.array([_name(entities, burst_entity, rng) for _ in range(size)])),
                          "label": "negative", "entity": burst_entity})
    burst["entity_field"] = np.where(rng.random(size) < 0.5, burst_entity, "")
    burst_times = burst_start + np.sort(rng.uniform(0, window_ms / 2, size=size)).astype(np.int64)
    documents = pd.concat([steady, burst], ignore_index=True)
    all_times = np.concatenate([times, burst_times])
    reposts = np.flatnonzero(rng.random(len(documents)) < duplicate_share)
    documents = pd.concat([documents, documents.iloc[reposts]], ignore_index=True)
    # Reposts follow within a minute, never past the end of the timeline (a replay that ends now
    # must not push event time into the future, or live news after it would be late).
    delays = rng.integers(1000, 60_000, size=len(reposts))
    all_times = np.concatenate([all_times, np.minimum(all_times[reposts] + delays, all_times.max())])
    order = np.argsort(all_times, kind="stable")
    return NewsPlan(documents.iloc[order].reset_index(drop=True), all_times[order], burst_entity)


def news_chunks(documents: pd.DataFrame, topic: str, times_ms: np.ndarray, seed: int,
                chunk_size: int = 1000) -> Iterator[EventChunk]:
    """``news`` events with ids ``news-<seed>-<n>``, keyed by their entity field when they have one."""
    optional = [c for c in ("source", "url") if c in documents.columns]
    fields = documents["entity_field"].fillna("").astype(str).tolist() if "entity_field" in documents else None
    texts = documents["text"].astype(str).tolist()
    for first in range(0, len(documents), chunk_size):
        last = min(first + chunk_size, len(documents))
        stamps = iso_strings(times_ms[first:last])
        values, keys = [], []
        for i in range(first, last):
            event = {"schema_version": 1, "id": f"news-{seed}-{i}", "event_time": str(stamps[i - first]),
                     "text": texts[i]}
            if fields and fields[i]:
                event["entity"] = fields[i]
            for column in optional:
                if documents[column].iat[i]:
                    event[column] = documents[column].iat[i]
            values.append(orjson.dumps(event))
            keys.append(event["entity"].encode() if "entity" in event else None)
        yield EventChunk([topic] * (last - first), keys, values, times_ms[first:last])
