"""CPU and memory of the stack's processes while a benchmark runs, from /proc."""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from pathlib import Path

from streaming.stack.process import descendants

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError):
        return 0.0


class ProcessSampler:
    """Samples RSS and CPU of named processes, and of their child processes together, each second.

    Example Usage::

        with ProcessSampler({"taskmanager": 1234}) as sampler:
            run_load()
        sampler.summary()   # {"taskmanager": {"peak_rss_mb": ..., "cpu_cores": ...}}
    """

    def __init__(self, pids: dict[str, int], interval_s: float = 1.0):
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self.interval_s = interval_s
        self.samples: dict[str, list[tuple[float, float, float]]] = defaultdict(list)  # (t, rss, cpu)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for name, pid in self.pids.items():
                self.samples[name].append((now, rss_mb(pid), cpu_seconds(pid)))
                # A TaskManager's children are its Python workers; Redis forks to rewrite its log.
                children = descendants(pid)
                if children:
                    label = f"{name}_python_workers" if name.startswith("taskmanager") else f"{name}_children"
                    self.samples[label].append(
                        (now, sum(rss_mb(p) for p in children), sum(cpu_seconds(p) for p in children)))
            self._stop.wait(self.interval_s)

    def summary(self) -> dict[str, dict]:
        result = {}
        for name, samples in self.samples.items():
            if len(samples) < 2:
                continue
            (t0, _, c0), (t1, _, c1) = samples[0], samples[-1]
            result[name] = {"peak_rss_mb": round(max(s[1] for s in samples)), "cpu_cores": round((c1 - c0) / (t1 - t0), 2)}
        result["total"] = {"peak_rss_mb": round(sum(r["peak_rss_mb"] for r in result.values()))}
        return result
