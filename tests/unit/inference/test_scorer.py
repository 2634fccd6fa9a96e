"""BatchScorer: batching, bad rows, model versions, hot swaps and metrics, without Flink."""

import time

import numpy as np
import pandas as pd
import pytest

from inference.registry import ModelRegistry
from inference.runner import OnnxRunner
from inference.scorer import BatchScorer, RollingMetrics, ScorerSettings, padded_rows
from tests.support.onnx_models import logistic_model, publish_tabular, publish_text, two_input_model


class FakeClock:
    """Every reading advances 1 ms, so each model call measures exactly 1 ms."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 0.0005
        return self.now


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(tmp_path / "models")


def scorer_for(registry, name, **settings):
    scorer = BatchScorer(registry, name, ScorerSettings(reload_interval_s=0, **settings), RollingMetrics(),
                         clock=FakeClock())
    scorer.open(watch=False)
    return scorer


def rows_per_model_call(monkeypatch) -> list[int]:
    """The rows of each call the scorer makes to ONNX Runtime, recorded as the calls go through."""
    rows = []
    run = OnnxRunner.run
    monkeypatch.setattr(OnnxRunner, "run", lambda self, inputs: (rows.append(next(iter(inputs.values())).shape[0]),
                                                                 run(self, inputs))[1])
    return rows


def test_batches_are_not_padded_when_the_model_runs_on_cpu(registry, tmp_path, monkeypatch):
    publish_tabular(registry, "m", logistic_model(tmp_path / "m.onnx", [1.0, -2.0], 0.5), ["a", "b"])
    scorer = scorer_for(registry, "m", max_batch_size=8)
    shapes = rows_per_model_call(monkeypatch)
    out = scorer.score([pd.Series([1.0, 2.0, 3.0]), pd.Series([0.0, 0.5, 1.0])])
    assert shapes == [3] and len(out) == 3


def test_on_a_gpu_short_chunks_are_padded_to_a_power_of_two_and_scored_unpadded(registry, tmp_path, monkeypatch):
    publish_tabular(registry, "m", logistic_model(tmp_path / "m.onnx", [1.0, -2.0], 0.5), ["a", "b"])
    scorer = scorer_for(registry, "m", max_batch_size=16)
    shapes = rows_per_model_call(monkeypatch)
    # Only the device the session ended up on matters here; CPU kernels score the padded rows.
    monkeypatch.setattr(scorer._active.runner, "device", "cuda")
    a, b = pd.Series(np.arange(21, dtype=float)), pd.Series(np.linspace(0, 1, 21))
    out = scorer.score([a, b])
    assert shapes == [16, 8]
    np.testing.assert_allclose(out["score"].astype(float), sigmoid(a - 2 * b + 0.5), rtol=1e-6)
    assert scorer.metrics.rows_scored == 21


def test_padded_sizes_are_powers_of_two_up_to_the_batch_size():
    assert [padded_rows(n, 4096) for n in (1, 2, 3, 300, 512, 513, 4000, 4096)] == [1, 2, 4, 512, 512, 1024, 4096, 4096]
    assert padded_rows(700, 1000) == 1000


def test_scores_every_row_in_chunks_of_the_batch_size(registry, tmp_path):
    publish_tabular(registry, "m", logistic_model(tmp_path / "m.onnx", [1.0, -2.0], 0.5), ["a", "b"])
    scorer = scorer_for(registry, "m", max_batch_size=4)
    a, b = pd.Series(np.arange(10, dtype=float)), pd.Series(np.linspace(0, 1, 10))
    out = scorer.score([a, b])
    assert list(out.columns) == ["score", "model_version", "error"]
    np.testing.assert_allclose(out["score"].astype(float), sigmoid(a - 2 * b + 0.5), rtol=1e-6)
    assert (out["model_version"] == "m:1").all() and out["error"].isna().all()
    assert scorer.metrics.batches == 3 and scorer.metrics.rows_scored == 10
    assert scorer.metrics.batch_size(1.0) == 4 and scorer.metrics.latency_micros(0.5) == 500


def test_bad_rows_get_reasons_and_the_rest_of_the_batch_is_scored(registry, tmp_path):
    publish_tabular(registry, "m", logistic_model(tmp_path / "m.onnx", [1.0, 1.0]), ["a", "b"])
    scorer = scorer_for(registry, "m")
    out = scorer.score([pd.Series([1.0, np.nan, 2.0, np.inf, None]), pd.Series([0.0, 1.0, -np.inf, 0.0, 1.0])])
    assert out["error"].tolist() == [None, "missing_feature: a", "non_finite_feature: b",
                                     "non_finite_feature: a", "missing_feature: a"]
    assert out["score"][0] == pytest.approx(sigmoid(1.0)) and out["score"][1:].isna().all()
    assert scorer.metrics.rows_rejected == 4 and scorer.metrics.rows_scored == 1


def test_model_with_two_inputs_of_different_types(registry, tmp_path):
    publish_tabular(registry, "two", two_input_model(tmp_path / "t.onnx"), [{"input": "numeric", "columns": ["a", "b"]},
                                                                          {"input": "category", "columns": ["c"]}])
    scorer = scorer_for(registry, "two")
    out = scorer.score([pd.Series([0.5, -1.0]), pd.Series([0.25, 0.0]), pd.Series([0, 1])])
    np.testing.assert_allclose(out["score"].astype(float), sigmoid(np.array([0.75, 9.0])), rtol=1e-6)


def test_text_pipeline_tokenizes_scores_and_labels(registry, tmp_path):
    publish_text(registry, "text", tmp_path)
    scorer = scorer_for(registry, "text")
    out = scorer.score([pd.Series(["profit rose", "shares fell", "the shares", "", None])])
    assert list(out.columns) == ["negative", "neutral", "positive", "label", "model_version", "error"]
    assert out["label"].tolist()[:3] == ["positive", "negative", "neutral"]
    probabilities = out.loc[:2, ["negative", "neutral", "positive"]].astype(float).to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert out["error"].tolist()[3:] == ["empty_text: nothing to score after cleaning"] * 2


def test_texts_of_different_lengths_come_back_in_their_order_and_score_as_alone(registry, tmp_path):
    publish_text(registry, "text", tmp_path)
    scorer = scorer_for(registry, "text", max_batch_size=2)
    texts = ["the shares fell and the loss fell", "profit rose", "", "loss", "the shares rose the shares"]
    together = scorer.score([pd.Series(texts)])
    alone = pd.concat([scorer.score([pd.Series([t])]) for t in texts if t], ignore_index=True)
    scored = together.drop(index=2).reset_index(drop=True)
    assert together["label"].isna().tolist() == [False, False, True, False, False]
    assert scored["label"].tolist() == alone["label"].tolist() == ["negative", "positive", "negative", "positive"]
    np.testing.assert_allclose(scored["positive"].astype(float), alone["positive"].astype(float), rtol=1e-6)


def test_hot_swap_happens_between_batches_and_tags_each_row(registry, tmp_path):
    publish_tabular(registry, "m", logistic_model(tmp_path / "1.onnx", [1.0]), ["a"])
    metrics = RollingMetrics()
    scorer = BatchScorer(registry, "m", ScorerSettings(reload_interval_s=0.05), metrics)
    scorer.open()
    try:
        assert set(scorer.score([pd.Series([0.0, 1.0])])["model_version"]) == {"m:1"}
        publish_tabular(registry, "m", logistic_model(tmp_path / "2.onnx", [2.0]), ["a"])
        versions = set()
        deadline = time.monotonic() + 10
        while "m:2" not in versions and time.monotonic() < deadline:
            out = scorer.score([pd.Series([0.0, 1.0, 2.0])])
            assert out["model_version"].nunique() == 1, "a batch was split across versions"
            versions |= set(out["model_version"])
            time.sleep(0.02)
        assert "m:2" in versions and metrics.swaps == 1 and metrics.model_version == 2
        assert scorer.score([pd.Series([1.0])])["score"][0] == pytest.approx(sigmoid(2.0))
    finally:
        scorer.close()


def test_a_version_that_fails_validation_is_never_served(registry, tmp_path):
    publish_tabular(registry, "m", logistic_model(tmp_path / "1.onnx", [1.0]), ["a"])
    metrics = RollingMetrics()
    scorer = BatchScorer(registry, "m", ScorerSettings(reload_interval_s=0.05), metrics)
    scorer.open()
    try:
        scorer.score([pd.Series([1.0])])
        # Version 2 has NaN weights, so it scores every row as NaN.
        publish_tabular(registry, "m", logistic_model(tmp_path / "2.onnx", [np.nan]), ["a"])
        deadline = time.monotonic() + 10
        while metrics.swap_failures == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert metrics.swap_failures == 1
        assert set(scorer.score([pd.Series([1.0, 2.0])])["model_version"]) == {"m:1"}
        assert metrics.swaps == 0 and metrics.model_version == 1
    finally:
        scorer.close()


def test_a_failing_model_call_flags_rows_instead_of_failing(registry, tmp_path, monkeypatch):
    publish_tabular(registry, "m", logistic_model(tmp_path / "m.onnx", [1.0]), ["a"])
    scorer = scorer_for(registry, "m")

    def broken(inputs):
        raise RuntimeError("device lost")
    monkeypatch.setattr(scorer._active.runner, "run", broken)
    out = scorer.score([pd.Series([1.0, np.nan])])
    assert out["error"].tolist() == ["inference_error: RuntimeError: device lost", "missing_feature: a"]
    assert scorer.metrics.inference_errors == 1
