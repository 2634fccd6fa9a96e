"""The simulator follows the Fraud Detection Handbook's generator and matches its statistics."""

import numpy as np
import pandas as pd
import pytest

from fraud.handbook_format import RAW_COLUMNS
from fraud.simulator import SimulationParams, make_profiles, simulate

# Published figures of the handbook's dataset (5,000 customers, 10,000 terminals, 183 days).
PUBLISHED_TRANSACTIONS = 1_754_155
PUBLISHED_FRAUD_RATE = 0.008369271814634397
PUBLISHED_SCENARIO_SHARES = {1: 973 / 14681, 2: 9077 / 14681, 3: 4631 / 14681}
PUBLISHED_TX_PER_DAY = PUBLISHED_TRANSACTIONS / 183


@pytest.fixture(scope="module")
def small():
    return simulate(SimulationParams(customers=500, terminals=1000, days=40, seed=3))


def test_output_is_the_handbook_raw_format_sorted_by_time(small):
    assert list(small.columns) == RAW_COLUMNS
    assert (small["TRANSACTION_ID"].to_numpy() == np.arange(len(small))).all()
    assert small["TX_DATETIME"].is_monotonic_increasing
    seconds = (small["TX_DATETIME"] - pd.Timestamp("2018-04-01")).dt.total_seconds().astype(int)
    assert (seconds == small["TX_TIME_SECONDS"]).all()
    assert (small["TX_TIME_SECONDS"] // 86400 == small["TX_TIME_DAYS"]).all()


def test_times_fall_strictly_inside_their_day(small):
    second_of_day = small["TX_TIME_SECONDS"] % 86400
    assert second_of_day.min() > 0


def test_customers_only_use_terminals_within_the_radius():
    params = SimulationParams(customers=300, terminals=800, days=10, seed=4)
    profiles = make_profiles(params)
    tx = simulate(params)
    distance = np.linalg.norm(profiles.customer_xy[tx["CUSTOMER_ID"]] - profiles.terminal_xy[tx["TERMINAL_ID"]], axis=1)
    assert distance.max() < params.radius


def test_scenario_one_marks_every_amount_above_220(small):
    genuine_or_s1 = small[small["TX_FRAUD_SCENARIO"] != 3]
    over = genuine_or_s1["TX_AMOUNT"] > 220
    assert (genuine_or_s1.loc[over, "TX_FRAUD"] == 1).all()
    assert (small.loc[small["TX_FRAUD_SCENARIO"] == 1, "TX_AMOUNT"] > 220).all()


def test_scenario_three_frauds_have_inflated_amounts(small):
    s3 = small[small["TX_FRAUD_SCENARIO"] == 3]
    assert len(s3) > 0
    cents = np.round(s3["TX_AMOUNT"] / 5 * 100, 6)
    assert np.allclose(cents, np.round(cents))  # an amount in cents, multiplied by 5 (or 25)


def test_same_seed_gives_the_same_data_and_early_days_do_not_depend_on_the_length():
    short = simulate(SimulationParams(customers=200, terminals=400, days=5, seed=9))
    longer = simulate(SimulationParams(customers=200, terminals=400, days=12, seed=9))
    again = simulate(SimulationParams(customers=200, terminals=400, days=12, seed=9))
    pd.testing.assert_frame_equal(longer, again)
    first_days = longer[longer["TX_TIME_DAYS"] < 5].drop(columns=["TX_FRAUD", "TX_FRAUD_SCENARIO", "TX_AMOUNT"])
    pd.testing.assert_frame_equal(first_days.reset_index(drop=True),
                                  short.drop(columns=["TX_FRAUD", "TX_FRAUD_SCENARIO", "TX_AMOUNT"]))


def test_scaled_down_run_matches_the_handbooks_daily_statistics():
    """A 70-day run at the handbook's customer and terminal counts: per-day volume and, once the
    28-day compromise windows have filled (days 30+), the fraud rate and scenario shares."""
    tx = simulate(SimulationParams(days=70))
    assert abs(len(tx) / 70 / PUBLISHED_TX_PER_DAY - 1) < 0.05
    steady = tx[tx["TX_TIME_DAYS"] >= 30]
    published_steady_rate = 14681 / PUBLISHED_TRANSACTIONS * 183 / 165  # frauds ramp up in month one
    assert abs(steady["TX_FRAUD"].mean() / published_steady_rate - 1) < 0.15
    shares = steady.loc[steady["TX_FRAUD"] == 1, "TX_FRAUD_SCENARIO"].value_counts(normalize=True)
    for scenario, published in PUBLISHED_SCENARIO_SHARES.items():
        assert abs(shares[scenario] - published) < 0.03


def test_full_run_reproduces_the_published_statistics_within_five_percent():
    tx = simulate(SimulationParams())
    assert abs(len(tx) / PUBLISHED_TRANSACTIONS - 1) < 0.05
    frauds = tx[tx["TX_FRAUD"] == 1]
    assert abs(len(frauds) / len(tx) / PUBLISHED_FRAUD_RATE - 1) < 0.05
    shares = frauds["TX_FRAUD_SCENARIO"].value_counts(normalize=True)
    for scenario, published in PUBLISHED_SCENARIO_SHARES.items():
        assert abs(shares[scenario] / published - 1) < 0.05
