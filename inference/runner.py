"""ONNX Runtime sessions on the best device there is: TensorRT, CUDA or CPU.

``OnnxRunner`` owns one session. It picks execution providers from ``inference.device``
(``auto`` = the best available, falling back to CPU with the reason logged once), sizes the
thread pools, warms up at open and, on CUDA, binds inputs and outputs to device buffers that are
reused from one batch to the next.

Example Usage::

    runner = OnnxRunner(model.file("fp32"), RunnerSettings(device="auto", intra_op_threads=1))
    runner.open()
    outputs = runner.run({"features": matrix})
"""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DEVICES = ("auto", "cuda", "tensorrt", "cpu")
_reported: set[str] = set()


@dataclass(frozen=True)
class RunnerSettings:
    device: str = "auto"
    intra_op_threads: int = 1
    inter_op_threads: int = 1
    device_id: int = 0
    # Optional cache for TensorRT engines, which take minutes to build.
    trt_cache_dir: str | None = None


def cuda_unavailable_reason() -> str | None:
    """Why CUDA cannot be used here, or None when a driver and a GPU answer."""
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return "this onnxruntime build has no CUDA execution provider"
    try:
        libcuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return "no NVIDIA driver (libcuda.so.1 not found)"
    count = ctypes.c_int(0)
    if libcuda.cuInit(0) != 0 or libcuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
        return "the NVIDIA driver reports no GPU"
    return None


def choose_providers(settings: RunnerSettings) -> tuple[list, str]:
    """Execution providers for ``settings.device`` and the device actually used.

    Raises:
        RuntimeError: ``cuda`` or ``tensorrt`` was asked for explicitly and is not available.
    """
    if settings.device not in DEVICES:
        raise ValueError(f"inference.device must be one of {', '.join(DEVICES)}, got {settings.device!r}")
    if settings.device == "cpu":
        return ["CPUExecutionProvider"], "cpu"
    reason = cuda_unavailable_reason()
    if reason is not None:
        if settings.device != "auto":
            raise RuntimeError(f"inference.device={settings.device} but {reason}")
        _report_once(f"inference device: cpu ({reason})")
        return ["CPUExecutionProvider"], "cpu"
    cuda = ("CUDAExecutionProvider", {"device_id": settings.device_id})
    if settings.device == "tensorrt":
        trt_options = {"device_id": settings.device_id, "trt_fp16_enable": True}
        if settings.trt_cache_dir:
            trt_options.update(trt_engine_cache_enable=True, trt_engine_cache_path=settings.trt_cache_dir)
        return [("TensorrtExecutionProvider", trt_options), cuda, "CPUExecutionProvider"], "tensorrt"
    return [cuda, "CPUExecutionProvider"], "cuda"


def _report_once(message: str) -> None:
    if message not in _reported:
        _reported.add(message)
        log.warning(message)


class OnnxRunner:
    """One ONNX Runtime session; ``run`` scores a batch of named numpy inputs."""

    def __init__(self, model_path: Path, settings: RunnerSettings):
        self.model_path = Path(model_path)
        self.settings = settings
        self.session = None
        self.device = None
        self._binding = None
        self._output_names: list[str] = []

    def open(self, warmup: dict[str, np.ndarray] | None = None) -> None:
        import onnxruntime as ort

        providers, wanted = choose_providers(self.settings)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self.settings.intra_op_threads
        options.inter_op_num_threads = self.settings.inter_op_threads
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # The worker process already runs one session per slot; spinning threads would steal
        # the cores the JVM needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(self.model_path), options, providers=providers)
        active = self.session.get_providers()[0]
        self.device = {"TensorrtExecutionProvider": "tensorrt", "CUDAExecutionProvider": "cuda"}.get(active, "cpu")
        if self.device != wanted:
            _report_once(f"inference device: {self.device} ({wanted} did not load; see onnxruntime's log)")
        self._output_names = [o.name for o in self.session.get_outputs()]
        if self.device != "cpu":
            self._binding = self.session.io_binding()
        if warmup is not None:
            self.run(warmup)

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self.session.get_inputs()]

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Score one batch; returns every output by name, as numpy arrays on the host."""
        if self._binding is None:
            return dict(zip(self._output_names, self.session.run(self._output_names, inputs)))
        return self._run_bound(inputs)

    def _run_bound(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        # Inputs are copied to the device once per batch; outputs stay in buffers ONNX Runtime
        # allocates on the device and reuses across runs of the same shape.
        binding = self._binding
        binding.clear_binding_inputs()
        binding.clear_binding_outputs()
        for name, array in inputs.items():
            binding.bind_cpu_input(name, np.ascontiguousarray(array))
        for name in self._output_names:
            binding.bind_output(name, "cuda", self.settings.device_id)
        self.session.run_with_iobinding(binding)
        return dict(zip(self._output_names, binding.copy_outputs_to_cpu()))

    def close(self) -> None:
        self.session = None
        self._binding = None
