"""The fraud model's inputs: the handbook's 15 features, plus ratios derived from them.

One place names each model input and how to compute it both ways: as a SQL expression over the
streaming job's feature columns, and as a pandas column over the batch reference. The model's
metadata lists the inputs it was trained on, in order; the job passes exactly those.

Example Usage::

    frame = with_derived_features(transform(history))
    sql = feature_arguments(config)   # "amount, tx_during_weekend, ..." for score_fraud(...)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraud.features import WINDOWS

# Handbook feature → the fraud job's column.
STREAM_COLUMNS = {
    "TX_AMOUNT": "amount",
    "TX_DURING_WEEKEND": "tx_during_weekend",
    "TX_DURING_NIGHT": "tx_during_night",
    **{f"CUSTOMER_ID_NB_TX_{w}DAY_WINDOW": f"customer_nb_tx_{w}" for w in WINDOWS},
    **{f"CUSTOMER_ID_AVG_AMOUNT_{w}DAY_WINDOW": f"customer_avg_amount_{w}" for w in WINDOWS},
    **{f"TERMINAL_ID_NB_TX_{w}DAY_WINDOW": f"terminal_nb_tx_{w}" for w in WINDOWS},
    **{f"TERMINAL_ID_RISK_{w}DAY_WINDOW": f"terminal_risk_{w}" for w in WINDOWS},
}
# Ratios of two inputs, name → (numerator, denominator); 1 where the denominator is 0 (only zero
# amounts so far). The amount relative to the customer's average is what scenario 3 (a compromised
# card spending five times its usual amounts) changes most; the day's and the week's average
# relative to the month's (the trends) show a card whose spending jumped, on every transaction of
# that day.
AMOUNT_RATIOS = {f"TX_AMOUNT_TO_CUSTOMER_AVG_{w}DAY": ("TX_AMOUNT", f"CUSTOMER_ID_AVG_AMOUNT_{w}DAY_WINDOW")
                 for w in WINDOWS}
TRENDS = {f"CUSTOMER_AVG_AMOUNT_{w}DAY_TO_30DAY": (f"CUSTOMER_ID_AVG_AMOUNT_{w}DAY_WINDOW",
                                                   "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW") for w in (1, 7)}
RATIOS = {**AMOUNT_RATIOS, **TRENDS}


def with_derived_features(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (the batch reference's columns) with the derived model inputs added."""
    frame = frame.copy()
    for name, (numerator, denominator) in RATIOS.items():
        top, bottom = frame[numerator].to_numpy(), frame[denominator].to_numpy()
        frame[name] = np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), 1.0)
    return frame


def model_matrix(base: np.ndarray, base_names: list[str], features: list[str]) -> np.ndarray:
    """The model's input matrix, ``features`` in order, from ``base`` (columns named ``base_names``,
    the handbook's features): for a program that computes the features itself, as the baseline does."""
    frame = with_derived_features(pd.DataFrame(base, columns=base_names))
    return frame[features].to_numpy(np.float32)


def sql_expression(feature: str) -> str:
    """The SQL expression of a model input over the fraud job's feature columns."""
    if feature in STREAM_COLUMNS:
        return STREAM_COLUMNS[feature]
    if feature in RATIOS:
        top, bottom = (STREAM_COLUMNS[f] for f in RATIOS[feature])
        return f"CASE WHEN {bottom} > 0 THEN {top} / {bottom} ELSE 1.0 END"
    raise ValueError(f"the fraud job cannot compute model input {feature}")


def feature_arguments(config) -> str:
    """The arguments of the scoring function: the serving model's inputs, in its order."""
    from inference.registry import ModelRegistry

    metadata = ModelRegistry(config.inference.registry_dir).load(config.fraud.model).metadata
    return ", ".join(sql_expression(f) for f in metadata["features"])
