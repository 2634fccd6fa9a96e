"""The machine and versions a benchmark ran on, recorded beside every figure."""

from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata


def machine_info() -> dict:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = {name: _version(name) for name in
                ("apache-flink", "confluent-kafka", "onnxruntime-gpu", "redis", "numpy", "pandas")}
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "versions": versions,
    }


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
