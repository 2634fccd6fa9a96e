import logging

import pytest

from inference import runner as runner_module
from inference.runner import OnnxRunner, RunnerSettings, choose_providers
from tests.support.onnx_models import logistic_model


def test_auto_falls_back_to_cpu_and_says_why_once(monkeypatch, caplog):
    monkeypatch.setattr(runner_module, "cuda_unavailable_reason", lambda: "no NVIDIA driver (libcuda.so.1 not found)")
    monkeypatch.setattr(runner_module, "_reported", set())
    with caplog.at_level(logging.WARNING):
        assert choose_providers(RunnerSettings(device="auto")) == (["CPUExecutionProvider"], "cpu")
        assert choose_providers(RunnerSettings(device="auto"))[1] == "cpu"
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["inference device: cpu (no NVIDIA driver (libcuda.so.1 not found))"]


def test_an_explicit_gpu_device_without_a_gpu_is_an_error(monkeypatch):
    monkeypatch.setattr(runner_module, "cuda_unavailable_reason", lambda: "the NVIDIA driver reports no GPU")
    with pytest.raises(RuntimeError, match="inference.device=cuda but the NVIDIA driver reports no GPU"):
        choose_providers(RunnerSettings(device="cuda"))


def test_onnxruntime_gpu_without_a_gpu_runs_on_cpu(tmp_path):
    runner = OnnxRunner(logistic_model(tmp_path / "m.onnx", [1.0]), RunnerSettings(device="auto"))
    runner.open()
    assert runner.device == ("cpu" if runner_module.cuda_unavailable_reason() else "cuda")
    import numpy as np
    assert runner.run({"features": np.ones((3, 1), dtype=np.float32)})["probabilities"].shape == (3, 2)
