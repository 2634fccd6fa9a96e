"""News documents for the ``news`` topic: read a CSV of texts and turn it into Kafka events."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from fraud.events import EventChunk, iso_strings
from streaming.errors import UserError


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


def news_chunks(documents: pd.DataFrame, topic: str, seed: int, rate: float | None,
                chunk_size: int = 1000) -> Iterator[EventChunk]:
    """``news`` events stamped with their planned send time (``rate`` per second, or now)."""
    start_ms = int(time.time() * 1000)
    spacing = 1000 / rate if rate else 0.0
    times = start_ms + (np.arange(len(documents)) * spacing).astype(np.int64)
    optional = [c for c in ("entity", "source", "url") if c in documents.columns]
    for first in range(0, len(documents), chunk_size):
        rows = documents.iloc[first:first + chunk_size]
        stamps = iso_strings(times[first:first + len(rows)])
        values, keys = [], []
        for i, (index, row) in enumerate(rows.iterrows()):
            event = {"schema_version": 1, "id": f"news-{seed}-{first + i}", "event_time": str(stamps[i]),
                     "text": row["text"]}
            event.update({c: row[c] for c in optional if row[c]})
            values.append(orjson.dumps(event))
            keys.append(event.get("entity", "").encode() or None)
        yield EventChunk([topic] * len(rows), keys, values, times[first:first + len(rows)])
