"""``streamscore stack up|down|status``: start, stop and inspect the local stack."""

from __future__ import annotations

from collections.abc import Callable

from connectors.kafka import ensure_topics
from streaming.config import Config
from streaming.stack.services import all_services


def stack_up(config: Config, report: Callable[[str], None] = print) -> None:
    """Start every part that is not running (also a part that died), then create the topics.

    Idempotent: a healthy part is left alone, so a second ``up`` changes nothing.
    """
    for service in all_services(config):
        if service.healthy():
            report(f"{service.name:<11} already running")
            continue
        service.start()
        report(f"{service.name:<11} started")
    created = ensure_topics(config)
    if created:
        report(f"topics      created {', '.join(sorted(created))}")


def stack_down(config: Config, report: Callable[[str], None] = print) -> None:
    """Stop every part, consumers of data first; data folders are kept."""
    for service in reversed(all_services(config)):
        service.stop()
        report(f"{service.name:<11} stopped")


def stack_status(config: Config) -> dict:
    """Each part with its address, pid and health (the shape of ``stack status --json``)."""
    return {service.name: service.status() for service in all_services(config)}
