import orjson
import pytest

from fraud.events import fraud_events
from fraud.simulator import SimulationParams, simulate
from schemas.validation import check_payload, epoch_millis
from streaming.config import TopicsConfig

DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def frame():
    return simulate(SimulationParams(customers=50, terminals=100, days=10, seed=2))


def messages(frame, delay_ms):
    return [m for chunk in fraud_events(frame, delay_ms, TopicsConfig(), chunk_size=97)
            for m in zip(chunk.topics, chunk.keys, chunk.values, chunk.timestamps.tolist())]


def test_every_event_is_valid_and_stamped_with_its_event_time(frame):
    for topic, key, value, timestamp in messages(frame, 7 * DAY_MS):
        event, reason = check_payload(topic, value, timestamp)
        assert reason is None
        assert key.decode() == event["customer_id"]


def test_each_transaction_gets_one_label_a_delay_later_in_time_order(frame):
    sent = messages(frame, 7 * DAY_MS)
    tx = {orjson.loads(v)["transaction_id"]: t for topic, _, v, t in sent if topic == "transactions"}
    labels = {orjson.loads(v)["transaction_id"]: (t, orjson.loads(v)) for topic, _, v, t in sent if topic == "fraud-labels"}
    assert tx.keys() == labels.keys() and len(tx) == len(frame)
    for tx_id, (label_time, label) in labels.items():
        assert label_time == tx[tx_id] + 7 * DAY_MS
        assert epoch_millis(label["tx_event_time"]) == tx[tx_id]
    times = [t for *_, t in sent]
    assert times == sorted(times)


def test_a_label_goes_before_a_transaction_with_the_same_time(frame):
    sent = messages(frame.iloc[:1].assign(TX_DATETIME=frame["TX_DATETIME"].iloc[0]), 0)
    assert [topic for topic, *_ in sent] == ["fraud-labels", "transactions"]


def test_amounts_and_verdicts_survive_serialisation(frame):
    sent = messages(frame, None)
    amounts = [orjson.loads(v)["amount"] for *_, v, _ in sent]
    assert amounts == frame["TX_AMOUNT"].tolist()
