"""Prometheus metrics of long-running CLI commands (the producers), scraped by the local Prometheus.

A command that publishes opens an HTTP endpoint on the first free port of
``prometheus.cli_metrics_ports`` and, while it runs, lists itself in the local Prometheus' file
discovery folder (``<run_dir>/prometheus/targets/cli-<pid>.json``); the scrape job
``streamscore-cli`` in ``deploy/prometheus/prometheus.yml`` picks it up within seconds.

Example Usage::

    with exposed(config, command="produce"):
        EVENTS_PRODUCED.labels(topic="transactions").inc(1000)
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, start_http_server

from streaming.config import Config
from streaming.stack.services import PrometheusServer

REGISTRY = CollectorRegistry()
EVENTS_PRODUCED = Counter("streamscore_produced_events", "Events handed to the Kafka producer", ["topic"],
                          registry=REGISTRY)
DELIVERY_FAILURES = Counter("streamscore_delivery_failures", "Events the broker did not acknowledge", [],
                            registry=REGISTRY)


@contextlib.contextmanager
def exposed(config: Config, command: str) -> Iterator[int | None]:
    """Serve the metrics while the block runs; yields the port (None when every port is taken)."""
    port = _free_port(config.prometheus.cli_metrics_ports)
    if port is None:
        yield None
        return
    server, thread = start_http_server(port, addr="127.0.0.1", registry=REGISTRY)
    target = PrometheusServer(config).targets / f"cli-{os.getpid()}.json"
    if target.parent.is_dir():
        target.write_text(json.dumps([{"targets": [f"127.0.0.1:{port}"], "labels": {"command": command}}]))
    try:
        yield port
    finally:
        target.unlink(missing_ok=True)
        server.shutdown()
        thread.join(timeout=5)


def _free_port(ports: str) -> int | None:
    first, last = (int(p) for p in ports.split("-"))
    for port in range(first, last + 1):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    return None
