import numpy as np
import pytest

from sentiment.evaluation import classification_metrics, read_labelled_csv
from streaming.errors import UserError


def test_metrics_match_a_hand_computed_example():
    gold = np.array(["negative", "negative", "neutral", "neutral", "positive", "positive"])
    predicted = np.array(["negative", "neutral", "neutral", "neutral", "positive", "neutral"])
    figures = classification_metrics(gold, predicted)
    assert figures["accuracy"] == pytest.approx(4 / 6)
    assert figures["per_class"]["neutral"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 2})
    assert figures["per_class"]["negative"]["f1"] == pytest.approx(2 / 3)
    assert figures["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 2 / 3) / 3)
    assert figures["confusion"] == [[1, 1, 0], [0, 2, 0], [0, 1, 1]]


def test_a_csv_with_unknown_labels_is_refused_in_one_line(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("label,text\nbullish,Shares rose\n")
    with pytest.raises(UserError, match="unknown labels"):
        read_labelled_csv(path)
