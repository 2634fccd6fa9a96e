"""Turn handbook-format transactions into the Kafka events of CONTRACT.md.

Each transaction becomes a ``transactions`` event at its own time, and a ``fraud-labels`` event
at its time plus the label delay. Both are merged into one event-time order; a label with the
same timestamp as a transaction goes first, as it was known by then.

Example Usage::

    for chunk in fraud_events(frame, label_delay_ms=7 * 86_400_000, topics=config.topics):
        publisher.send_chunk(chunk)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from streaming.config import TopicsConfig


@dataclass
class EventChunk:
    """Messages ready for Kafka, in the order to send them."""

    topics: list[str]
    keys: list[bytes]
    values: list[bytes]
    timestamps: np.ndarray  # epoch milliseconds, the event time

    def __len__(self) -> int:
        return len(self.values)


def epoch_ms(datetimes: pd.Series) -> np.ndarray:
    return datetimes.to_numpy(dtype="datetime64[ms]").astype(np.int64)


def iso_strings(epoch_millis: np.ndarray) -> np.ndarray:
    """``2018-04-01T00:00:31.000Z`` for each timestamp, vectorised."""
    return np.char.add(np.datetime_as_string(epoch_millis.astype("datetime64[ms]"), unit="ms"), "Z")


def fraud_events(frame: pd.DataFrame, label_delay_ms: int | None, topics: TopicsConfig,
                 chunk_size: int = 20_000, tx_times_ms: np.ndarray | None = None) -> Iterator[EventChunk]:
    """Yield transaction and label events of ``frame`` in event-time order, in chunks.

    Args:
        frame: transactions in the handbook's raw format, sorted by time.
        label_delay_ms: delay of each label after its transaction; None publishes no labels.
        topics: where transactions and labels go.
        chunk_size: messages per chunk (JSON is built one chunk at a time to bound memory).
        tx_times_ms: event times to use instead of the frame's (``--live`` stamps the present).
    """
    tx_time = epoch_ms(frame["TX_DATETIME"]) if tx_times_ms is None else tx_times_ms
    n = len(frame)
    if label_delay_ms is None:
        order = np.arange(n)
        times = tx_time
    else:
        label_time = tx_time + label_delay_ms
        # Rows 0..n-1 are labels, n..2n-1 transactions; a stable sort of labels-then-transactions
        # puts a label first when both have the same time.
        times = np.concatenate([label_time, tx_time])
        order = np.argsort(times, kind="stable")
    ids = frame["TRANSACTION_ID"].astype(str).to_numpy()
    customers = frame["CUSTOMER_ID"].astype(str).to_numpy()
    terminals = frame["TERMINAL_ID"].astype(str).to_numpy()
    amounts = frame["TX_AMOUNT"].to_numpy()
    frauds = frame["TX_FRAUD"].to_numpy()
    for start in range(0, len(order), chunk_size):
        rows = order[start:start + chunk_size]
        is_tx = rows >= n if label_delay_ms is not None else np.ones(len(rows), dtype=bool)
        tx_rows = np.where(is_tx, rows - (n if label_delay_ms is not None else 0), rows)
        chunk_times = times[rows]
        stamps = iso_strings(chunk_times)
        tx_stamps = iso_strings(tx_time[tx_rows])
        values, chunk_topics = [], []
        for i, row in enumerate(tx_rows):
            if is_tx[i]:
                values.append(
                    f'{{"schema_version":1,"transaction_id":"{ids[row]}","event_time":"{stamps[i]}",'
                    f'"customer_id":"{customers[row]}","terminal_id":"{terminals[row]}",'
                    f'"amount":{float(amounts[row])!r}}}'.encode())
                chunk_topics.append(topics.transactions.name)
            else:
                values.append(
                    f'{{"schema_version":1,"transaction_id":"{ids[row]}","customer_id":"{customers[row]}",'
                    f'"terminal_id":"{terminals[row]}","tx_event_time":"{tx_stamps[i]}",'
                    f'"event_time":"{stamps[i]}","is_fraud":{"true" if frauds[row] else "false"}}}'.encode())
                chunk_topics.append(topics.fraud_labels.name)
        keys = [customers[row].encode() for row in tx_rows]
        yield EventChunk(chunk_topics, keys, values, chunk_times)
