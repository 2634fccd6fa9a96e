import pandas as pd
import pytest

from fraud.handbook_format import BadDatasetError, read_raw, write_raw
from fraud.simulator import SimulationParams, simulate


@pytest.fixture(scope="module")
def frame():
    return simulate(SimulationParams(customers=100, terminals=200, days=4, seed=1))


@pytest.mark.parametrize("name", ["daily", "tx.csv", "tx.parquet"])
def test_every_raw_format_reads_back_what_was_written(tmp_path, frame, name):
    path = write_raw(frame, tmp_path / name)
    back = read_raw(path)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


def test_daily_pickles_can_be_read_for_a_range_of_days(tmp_path, frame):
    path = write_raw(frame, tmp_path / "daily")
    assert sorted(p.name for p in path.iterdir())[:2] == ["2018-04-01.pkl", "2018-04-02.pkl"]
    days = read_raw(path, start="2018-04-02", end="2018-04-03")
    assert set(days["TX_TIME_DAYS"]) == {1, 2}


@pytest.mark.parametrize("content, message", [
    ("a,b\n1,2\n", "lacks the column"),
    ("TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_TIME_SECONDS,TX_TIME_DAYS,TX_FRAUD,TX_FRAUD_SCENARIO\n"
     "1,2018-04-01 00:00:01,x,2,3.5,1,0,0,0\n", "wrong type"),
])
def test_bad_files_give_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(BadDatasetError, match=message):
        read_raw(path)


def test_missing_or_unknown_paths_are_named(tmp_path):
    with pytest.raises(BadDatasetError, match="does not exist"):
        read_raw(tmp_path / "nope.csv")
    (tmp_path / "data.txt").write_text("x")
    with pytest.raises(BadDatasetError, match="expected a folder"):
        read_raw(tmp_path / "data.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadDatasetError, match="no daily"):
        read_raw(tmp_path / "empty")
