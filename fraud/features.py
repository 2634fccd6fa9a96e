"""The handbook's feature transformation in pandas: the ground truth the streaming job must match.

Fraud Detection Handbook, chapter 3 ("Baseline feature transformation"), with one precision the
handbook leaves to pandas' unstable sort: transactions with the same timestamp are ordered by
arrival (TRANSACTION_ID), and a transaction's windows include only those before it in that order.

- ``TX_DURING_WEEKEND``: Saturday or Sunday; ``TX_DURING_NIGHT``: hour ≤ 6 (00:00–06:59:59).
- Per customer and window w ∈ {1, 7, 30} days, over (t − w, t], the transaction itself included:
  ``CUSTOMER_ID_NB_TX_{w}DAY_WINDOW`` and ``CUSTOMER_ID_AVG_AMOUNT_{w}DAY_WINDOW``.
- Per terminal, with the label delay d (7 days), over the transactions in (t − d − w, t − d]:
  ``TERMINAL_ID_NB_TX_{w}DAY_WINDOW`` and ``TERMINAL_ID_RISK_{w}DAY_WINDOW`` = frauds / transactions
  (0 when there are none).

Example Usage::

    features = transform(read_raw("history.parquet"))
    X = features[FEATURES]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY_MS = 86_400_000
WINDOWS = (1, 7, 30)
CUSTOMER_FEATURES = [f"CUSTOMER_ID_{kind}_{w}DAY_WINDOW" for w in WINDOWS for kind in ("NB_TX", "AVG_AMOUNT")]
TERMINAL_FEATURES = [f"TERMINAL_ID_{kind}_{w}DAY_WINDOW" for w in WINDOWS for kind in ("NB_TX", "RISK")]
# The handbook's 15 model inputs, in its order.
FEATURES = ["TX_AMOUNT", "TX_DURING_WEEKEND", "TX_DURING_NIGHT", *CUSTOMER_FEATURES, *TERMINAL_FEATURES]


def transform(transactions: pd.DataFrame, delay_days: float = 7) -> pd.DataFrame:
    """Add the 12 behavioural and 2 calendar features to a handbook-format table.

    Args:
        transactions: raw format (TRANSACTION_ID, TX_DATETIME, CUSTOMER_ID, TERMINAL_ID,
            TX_AMOUNT, TX_FRAUD, ...), any order.
        delay_days: the label delay d of the terminal features.

    Returns:
        The table sorted by (TX_DATETIME, TRANSACTION_ID) with the feature columns added.
    """
    tx = transactions.sort_values(["TX_DATETIME", "TRANSACTION_ID"], kind="stable").reset_index(drop=True)
    # Milliseconds: live events carry them, and the job's windows are exact to the millisecond.
    millis = _epoch_millis(tx["TX_DATETIME"])
    out = tx.copy()
    out["TX_DURING_WEEKEND"] = (tx["TX_DATETIME"].dt.weekday >= 5).astype(np.int64)
    out["TX_DURING_NIGHT"] = (tx["TX_DATETIME"].dt.hour <= 6).astype(np.int64)
    amount = tx["TX_AMOUNT"].to_numpy(dtype=np.float64)
    for w in WINDOWS:
        count, total = _trailing(tx["CUSTOMER_ID"].to_numpy(), millis, amount, w * DAY_MS, 0)
        out[f"CUSTOMER_ID_NB_TX_{w}DAY_WINDOW"] = count
        out[f"CUSTOMER_ID_AVG_AMOUNT_{w}DAY_WINDOW"] = total / count
    fraud = tx["TX_FRAUD"].to_numpy(dtype=np.float64)
    delay = round(delay_days * DAY_MS)
    for w in WINDOWS:
        count, frauds = _trailing(tx["TERMINAL_ID"].to_numpy(), millis, fraud, w * DAY_MS, delay)
        out[f"TERMINAL_ID_NB_TX_{w}DAY_WINDOW"] = count
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"TERMINAL_ID_RISK_{w}DAY_WINDOW"] = np.where(count > 0, frauds / np.maximum(count, 1), 0.0)
    return out


def _epoch_millis(datetimes: pd.Series) -> np.ndarray:
    return datetimes.to_numpy(dtype="datetime64[ms]").astype(np.int64)


def _trailing(keys: np.ndarray, millis: np.ndarray, values: np.ndarray, window: int, delay: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """For each row i: count and sum of ``values`` over the rows j of the same key with
    ``t_i − delay − window < t_j ≤ t_i − delay``, and j ≤ i in row order when ``delay`` is 0.

    Rows are in (time, arrival) order; within one key a window is a contiguous run of that key's
    rows, found by binary search on its times.
    """
    order = np.argsort(keys, kind="stable")  # rows of one key, still in time order
    sorted_keys, sorted_times = keys[order], millis[order]
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    ends = np.r_[starts[1:], len(order)]
    count = np.empty(len(order), dtype=np.float64)
    total = np.empty(len(order), dtype=np.float64)
    for start, end in zip(starts, ends):
        times = sorted_times[start:end]
        cumulative = np.r_[0.0, np.cumsum(sorted_values[start:end])]
        if delay == 0:
            # (t − w, t] over rows up to and including this one.
            upper = np.arange(1, end - start + 1)
        else:
            upper = np.searchsorted(times, times - delay, side="right")
        lower = np.searchsorted(times, times - delay - window, side="right")
        count[order[start:end]] = upper - lower
        total[order[start:end]] = cumulative[upper] - cumulative[lower]
    return count, total
