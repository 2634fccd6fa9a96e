"""The benchmark's baseline program scores the same model inputs as the batch reference."""

import importlib.util

import numpy as np
import pandas as pd

from fraud.features import FEATURES, transform
from fraud.model_features import RATIOS, model_matrix, with_derived_features
from fraud.simulator import SimulationParams, simulate
from streaming.config import PROJECT_ROOT


def baseline_module():
    spec = importlib.util.spec_from_file_location("baseline_fraud", PROJECT_ROOT / "benchmarks" / "baseline_fraud.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def iso(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_the_baseline_computes_every_model_input_as_the_batch_reference_does():
    history = simulate(SimulationParams(customers=150, terminals=300, days=45, seed=3))
    history = history.sort_values(["TX_DATETIME", "TRANSACTION_ID"], kind="stable").reset_index(drop=True)
    baseline = baseline_module()
    delay = 7 * baseline.DAY_MS
    times = history["TX_DATETIME"].astype("int64").to_numpy() // 1_000_000
    # Labels arrive the delay after their transaction, before the transactions of that instant.
    events = [(t + delay, 0, i) for i, t in enumerate(times)] + [(t, 1, i) for i, t in enumerate(times)]
    features = baseline.Features(delay)
    rows, ids = [], []
    for t, kind, i in sorted(events):
        tx = history.iloc[i]
        event = {"customer_id": str(tx.CUSTOMER_ID), "terminal_id": str(tx.TERMINAL_ID), "amount": tx.TX_AMOUNT,
                 "is_fraud": bool(tx.TX_FRAUD), "tx_event_time": iso(int(times[i]))}
        if kind == 0:
            features.label(event)
        else:
            rows.append(features.transaction(event, int(t)))
            ids.append(tx.TRANSACTION_ID)

    inputs = [*FEATURES, *RATIOS]
    streamed = model_matrix(np.array(rows), FEATURES, inputs)
    expected = with_derived_features(transform(history)).set_index("TRANSACTION_ID").loc[ids, inputs]
    np.testing.assert_allclose(streamed, expected.to_numpy(np.float32), rtol=1e-6)
