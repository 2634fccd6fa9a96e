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
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DEVICES = ("auto", "cuda", "tensorrt", "cpu")
_NUMPY_OF_ONNX = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
                  "tensor(int64)": np.int64}
_reported: set[str] = set()


@dataclass(frozen=True)
class RunnerSettings:
    device: str = "auto"
    intra_op_threads: int = 1
    inter_op_threads: int = 1
    # GPU to use; -1 spreads the Python workers of a TaskManager over its visible GPUs. Flink's
    # GPU external resource gives each TaskManager its GPUs (CUDA_VISIBLE_DEVICES); Python
    # functions cannot read which index Flink assigned, so one GPU per TaskManager is simplest.
    device_id: int = -1
    # Optional cache for TensorRT engines, which take minutes to build.
    trt_cache_dir: str | None = None


def cuda_devices() -> tuple[int, str | None]:
    """How many GPUs CUDA sees here, and why CUDA cannot be used when it is none."""
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return 0, "this onnxruntime build has no CUDA execution provider"
    try:
        libcuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0, "no NVIDIA driver (libcuda.so.1 not found)"
    count = ctypes.c_int(0)
    if libcuda.cuInit(0) != 0 or libcuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
        return 0, "the NVIDIA driver reports no GPU"
    return count.value, None


def cuda_unavailable_reason() -> str | None:
    """Why CUDA cannot be used here, or None when a driver and a GPU answer."""
    return cuda_devices()[1]


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
    device_id = gpu_for_this_worker(settings)
    cuda = ("CUDAExecutionProvider", {"device_id": device_id})
    if settings.device == "tensorrt":
        trt_options = {"device_id": device_id, "trt_fp16_enable": True}
        if settings.trt_cache_dir:
            trt_options.update(trt_engine_cache_enable=True, trt_engine_cache_path=settings.trt_cache_dir)
        return [("TensorrtExecutionProvider", trt_options), cuda, "CPUExecutionProvider"], "tensorrt"
    return [cuda, "CPUExecutionProvider"], "cuda"


def gpu_for_this_worker(settings: RunnerSettings) -> int:
    if settings.device_id >= 0:
        return settings.device_id
    count = cuda_devices()[0]
    return os.getpid() % count if count else 0


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
        self._buffers: dict[tuple, tuple[dict, dict]] = {}
        self._device_id = 0
        self._output_names: list[str] = []

    def open(self, warmup: dict[str, np.ndarray] | None = None) -> None:
        import onnxruntime as ort

        providers, wanted = choose_providers(self.settings)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self.settings.intra_op_threads
        options.inter_op_num_threads = self.settings.inter_op_threads
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # graph-optimiser notices are not the user's concern
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
            self._device_id = gpu_for_this_worker(self.settings)
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
        # Device buffers are allocated once per input shape and reused: each batch is copied into
        # the existing input buffers, and outputs of a known shape land in preallocated buffers.
        import onnxruntime as ort

        shape_key = tuple((name, array.shape) for name, array in inputs.items())
        buffers = self._buffers.get(shape_key)
        if buffers is None:
            if len(self._buffers) >= 8:  # shapes vary with text length; keep the recent few
                self._buffers.pop(next(iter(self._buffers)))
            device = ("cuda", self._device_id)
            bound_inputs = {name: ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(array), *device)
                            for name, array in inputs.items()}
            rows = len(next(iter(inputs.values())))
            bound_outputs = {}
            for output in self.session.get_outputs():
                shape = [rows if i == 0 else d for i, d in enumerate(output.shape)]
                if all(isinstance(d, int) for d in shape):
                    bound_outputs[output.name] = ort.OrtValue.ortvalue_from_shape_and_type(
                        shape, _NUMPY_OF_ONNX.get(output.type, np.float32), *device)
            buffers = self._buffers[shape_key] = (bound_inputs, bound_outputs)
        else:
            for name, array in inputs.items():
                buffers[0][name].update_inplace(np.ascontiguousarray(array))
        binding = self._binding
        binding.clear_binding_inputs()
        binding.clear_binding_outputs()
        for name, value in buffers[0].items():
            binding.bind_ortvalue_input(name, value)
        for name in self._output_names:
            if name in buffers[1]:
                binding.bind_ortvalue_output(name, buffers[1][name])
            else:
                binding.bind_output(name, "cuda", self._device_id)
        self.session.run_with_iobinding(binding)
        return dict(zip(self._output_names, binding.copy_outputs_to_cpu()))

    def close(self) -> None:
        self.session = None
        self._binding = None
