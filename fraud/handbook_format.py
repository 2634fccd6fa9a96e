"""The Fraud Detection Handbook's raw transaction format: read and write it, with clear errors.

A dataset is a folder of daily pandas pickles named ``YYYY-MM-DD.pkl``, or one ``.csv`` or
``.parquet`` file, with the columns of ``RAW_COLUMNS``. Unpickling runs code from the file, so
pickles are read only from paths the user names.

Example Usage::

    transactions = read_raw("data/simulated-raw/", start="2018-07-25", end="2018-08-14")
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from streaming.errors import UserError

RAW_COLUMNS = ["TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT",
               "TX_TIME_SECONDS", "TX_TIME_DAYS", "TX_FRAUD", "TX_FRAUD_SCENARIO"]
_DAILY_PICKLE = re.compile(r"^\d{4}-\d{2}-\d{2}\.pkl$")


class BadDatasetError(UserError):
    """The file or folder is not a labelled dataset in the handbook's raw format."""


def read_raw(path: str | Path, start: str | None = None, end: str | None = None) -> pd.DataFrame:
    """Read a labelled dataset, sorted by TRANSACTION_ID, optionally only the days start..end.

    Args:
        path: a folder of daily pickles, or one .csv / .parquet file.
        start: first day to keep (YYYY-MM-DD), inclusive.
        end: last day to keep (YYYY-MM-DD), inclusive.

    Raises:
        BadDatasetError: missing path, unknown file type, unreadable file or missing columns.
    """
    path = Path(path)
    if not path.exists():
        raise BadDatasetError(f"{path} does not exist")
    try:
        if path.is_dir():
            frame = _read_daily_pickles(path, start, end)
        elif path.suffix == ".csv":
            frame = pd.read_csv(path)
        elif path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif path.suffix == ".pkl":
            frame = pd.read_pickle(path)
        else:
            raise BadDatasetError(f"{path}: expected a folder of YYYY-MM-DD.pkl files, a .csv or a .parquet file")
    except BadDatasetError:
        raise
    except Exception as exc:  # pandas raises many types for a corrupt or foreign file
        raise BadDatasetError(f"{path} could not be read as a transactions table: {type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    frame = _normalise(frame, path)
    if start is not None:
        frame = frame[frame["TX_DATETIME"] >= pd.Timestamp(start)]
    if end is not None:
        frame = frame[frame["TX_DATETIME"] < pd.Timestamp(end) + pd.Timedelta(days=1)]
    return frame.reset_index(drop=True)


def _read_daily_pickles(folder: Path, start: str | None, end: str | None) -> pd.DataFrame:
    files = sorted(f for f in folder.iterdir() if _DAILY_PICKLE.match(f.name))
    if not files:
        raise BadDatasetError(f"{folder} holds no daily YYYY-MM-DD.pkl files")
    files = [f for f in files if (start is None or f.stem >= start) and (end is None or f.stem <= end)]
    if not files:
        raise BadDatasetError(f"{folder} holds no daily files between {start} and {end}")
    return pd.concat([pd.read_pickle(f) for f in files], ignore_index=True)


def _normalise(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise BadDatasetError(f"{path} does not hold a table")
    missing = [c for c in RAW_COLUMNS if c not in frame.columns]
    if missing:
        raise BadDatasetError(f"{path} lacks the column(s) {', '.join(missing)} of the handbook's raw format")
    frame = frame[RAW_COLUMNS].copy()
    try:
        frame["TX_DATETIME"] = pd.to_datetime(frame["TX_DATETIME"])
        for column in ["TRANSACTION_ID", "CUSTOMER_ID", "TERMINAL_ID", "TX_TIME_SECONDS",
                       "TX_TIME_DAYS", "TX_FRAUD", "TX_FRAUD_SCENARIO"]:
            frame[column] = frame[column].astype(np.int64)
        frame["TX_AMOUNT"] = frame["TX_AMOUNT"].astype(np.float64)
    except (ValueError, TypeError) as exc:
        raise BadDatasetError(f"{path} has a value of the wrong type: {exc}") from None
    if frame.empty:
        raise BadDatasetError(f"{path} holds no transactions")
    # The handbook's loader maps -1 (unknown in real data) to 0; keep its convention.
    frame = frame.replace(-1, 0)
    return frame.sort_values("TRANSACTION_ID", kind="stable").reset_index(drop=True)


def write_raw(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as daily pickles (a folder path), or one .csv or .parquet file."""
    path = Path(path)
    if path.suffix == ".csv":
        frame[RAW_COLUMNS].to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame[RAW_COLUMNS].to_parquet(path, index=False)
    else:
        path.mkdir(parents=True, exist_ok=True)
        for day, rows in frame.groupby(frame["TX_DATETIME"].dt.strftime("%Y-%m-%d")):
            rows[RAW_COLUMNS].sort_values("TX_TIME_SECONDS", kind="stable").to_pickle(path / f"{day}.pkl", protocol=4)
    return path
