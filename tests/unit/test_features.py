"""The batch reference equals the handbook's pandas-rolling transformation."""

import numpy as np
import pandas as pd
import pytest

from fraud.features import FEATURES, transform
from fraud.simulator import SimulationParams, simulate


def handbook_transform(tx: pd.DataFrame, delay: int = 7) -> pd.DataFrame:
    """The handbook's own formulation (rolling windows per customer / terminal), stable-sorted."""
    tx = tx.sort_values(["TX_DATETIME", "TRANSACTION_ID"], kind="stable").reset_index(drop=True)
    tx["TX_DURING_WEEKEND"] = (tx.TX_DATETIME.dt.weekday >= 5).astype(int)
    tx["TX_DURING_NIGHT"] = (tx.TX_DATETIME.dt.hour <= 6).astype(int)
    parts = []
    for _, customer in tx.groupby("CUSTOMER_ID", sort=False):
        customer = customer.set_index("TX_DATETIME", drop=False)
        for w in (1, 7, 30):
            total = customer.TX_AMOUNT.rolling(f"{w}d").sum()
            count = customer.TX_AMOUNT.rolling(f"{w}d").count()
            customer[f"CUSTOMER_ID_NB_TX_{w}DAY_WINDOW"] = count.to_numpy()
            customer[f"CUSTOMER_ID_AVG_AMOUNT_{w}DAY_WINDOW"] = (total / count).to_numpy()
        parts.append(customer.reset_index(drop=True))
    tx = pd.concat(parts)
    parts = []
    for _, terminal in tx.groupby("TERMINAL_ID", sort=False):
        terminal = terminal.sort_values(["TX_DATETIME", "TRANSACTION_ID"], kind="stable").set_index("TX_DATETIME", drop=False)
        fraud_delay = terminal.TX_FRAUD.rolling(f"{delay}d").sum()
        count_delay = terminal.TX_FRAUD.rolling(f"{delay}d").count()
        for w in (1, 7, 30):
            frauds = terminal.TX_FRAUD.rolling(f"{delay + w}d").sum() - fraud_delay
            count = terminal.TX_FRAUD.rolling(f"{delay + w}d").count() - count_delay
            terminal[f"TERMINAL_ID_NB_TX_{w}DAY_WINDOW"] = count.to_numpy()
            terminal[f"TERMINAL_ID_RISK_{w}DAY_WINDOW"] = (frauds / count).fillna(0).to_numpy()
        parts.append(terminal.reset_index(drop=True))
    return pd.concat(parts).sort_values(["TX_DATETIME", "TRANSACTION_ID"], kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def transactions():
    tx = simulate(SimulationParams(customers=300, terminals=200, days=50, seed=11))
    # Same-second transactions of one card: the case where equal timestamps must not be peers.
    first = tx.iloc[100]
    twin = first.copy()
    twin["TRANSACTION_ID"], twin["TX_AMOUNT"] = tx["TRANSACTION_ID"].max() + 1, 999.0
    return pd.concat([tx, twin.to_frame().T.astype(tx.dtypes)], ignore_index=True)


def test_reference_equals_the_handbooks_rolling_windows(transactions):
    ours = transform(transactions)
    theirs = handbook_transform(transactions)
    assert (ours["TRANSACTION_ID"].to_numpy() == theirs["TRANSACTION_ID"].to_numpy()).all()
    for column in FEATURES:
        np.testing.assert_allclose(ours[column].to_numpy(float), theirs[column].to_numpy(float), rtol=1e-9,
                                   err_msg=column)


def test_a_later_transaction_with_the_same_timestamp_is_not_in_the_earlier_ones_window(transactions):
    features = transform(transactions).set_index("TRANSACTION_ID")
    first = transactions.iloc[100]
    twin_id = transactions["TRANSACTION_ID"].max()
    assert features.loc[twin_id, "CUSTOMER_ID_NB_TX_1DAY_WINDOW"] == features.loc[first.TRANSACTION_ID, "CUSTOMER_ID_NB_TX_1DAY_WINDOW"] + 1
