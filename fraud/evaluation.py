"""The Fraud Detection Handbook's evaluation methodology.

Chapters 3.4 and 4 of the handbook:

- **Split**: train on 7 days from the training start; skip the 7-day label delay; test on the next
  7 days, where a card is left out of a test day once one of its frauds is known (any fraud up to
  8 days before that day: the training week and the delay days seen so far).
- **Metrics**: AUC ROC and average precision over test transactions, and card precision@k: per
  test day, each card's highest score ranks the cards; the share of true frauds among the top k
  (always divided by k); a card detected on one day is dropped from the following days; the mean
  over days.
- **Prequential validation** for model selection: the same split moved back one week at a time.

Example Usage::

    train, test = train_test_split(features, "2018-07-25")
    metrics = performance(test.assign(predictions=model.predict_proba(test[FEATURES])[:, 1]))
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def train_test_split(features: pd.DataFrame, train_start: str, train_days: int = 7, delay_days: int = 7,
                     test_days: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The handbook's train week and test week (known compromised cards removed per test day)."""
    start = pd.Timestamp(train_start)
    train = features[(features["TX_DATETIME"] >= start)
                     & (features["TX_DATETIME"] < start + pd.Timedelta(days=train_days))]
    if train.empty:
        raise ValueError(f"no transactions in the training week from {train_start}")
    known = set(train.loc[train["TX_FRAUD"] == 1, "CUSTOMER_ID"])
    first_day = int(train["TX_TIME_DAYS"].min())
    test_parts = []
    for day in range(test_days):
        delay_day = features[features["TX_TIME_DAYS"] == first_day + train_days + day - 1]
        known |= set(delay_day.loc[delay_day["TX_FRAUD"] == 1, "CUSTOMER_ID"])
        test_day = features[features["TX_TIME_DAYS"] == first_day + train_days + delay_days + day]
        test_parts.append(test_day[~test_day["CUSTOMER_ID"].isin(known)])
    test = pd.concat(test_parts)
    if test.empty:
        raise ValueError(f"no transactions in the test week after {train_start} (the data ends too early)")
    return train.sort_values("TRANSACTION_ID"), test.sort_values("TRANSACTION_ID")


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve; tied scores count half (the Mann–Whitney statistic)."""
    labels = np.asarray(labels, dtype=bool)
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    positives, negatives = labels.sum(), (~labels).sum()
    if positives == 0 or negatives == 0:
        return float("nan")
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Σ (R_n − R_{n−1}) P_n over distinct score thresholds, highest first (no interpolation)."""
    labels = np.asarray(labels, dtype=np.float64)
    order = np.argsort(-np.asarray(scores), kind="stable")
    scores_sorted, labels_sorted = np.asarray(scores)[order], labels[order]
    true_positives = np.cumsum(labels_sorted)
    # One point per distinct score: the last row of each run of equal scores.
    last_of_run = np.r_[scores_sorted[1:] != scores_sorted[:-1], True]
    tp = true_positives[last_of_run]
    seen = np.flatnonzero(last_of_run) + 1
    if tp[-1] == 0:
        return float("nan")
    precision, recall = tp / seen, tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def card_precision_top_k(predictions: pd.DataFrame, k: int = 100) -> float:
    """Mean over test days of the share of compromised cards among the k highest-scored cards."""
    detected: set = set()
    daily = []
    for _, day in predictions.groupby("TX_TIME_DAYS", sort=True):
        day = day[~day["CUSTOMER_ID"].isin(detected)]
        cards = day.groupby("CUSTOMER_ID")[["predictions", "TX_FRAUD"]].max()
        top = cards.sort_values("predictions", ascending=False, kind="stable").head(k)
        hits = top.index[top["TX_FRAUD"] == 1]
        daily.append(len(hits) / k)
        detected |= set(hits)
    return float(np.mean(daily))


def performance(predictions: pd.DataFrame, k: int = 100) -> dict[str, float]:
    """AUC ROC, average precision and card precision@k of a scored test set.

    Args:
        predictions: rows with ``predictions``, ``TX_FRAUD``, ``CUSTOMER_ID``, ``TX_TIME_DAYS``.
    """
    labels, scores = predictions["TX_FRAUD"].to_numpy(), predictions["predictions"].to_numpy()
    return {"auc_roc": round(roc_auc(labels, scores), 4),
            "average_precision": round(average_precision(labels, scores), 4),
            f"card_precision_at_{k}": round(card_precision_top_k(predictions, k), 4)}


def prequential_splits(features: pd.DataFrame, start: str, folds: int = 4, **split) -> list[tuple]:
    """``folds`` train/test splits, the first from ``start``, each next one a week earlier."""
    return [train_test_split(features, str((pd.Timestamp(start) - pd.Timedelta(days=7 * i)).date()), **split)
            for i in range(folds)]
