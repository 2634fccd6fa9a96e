"""The local single-machine stack: Kafka (KRaft), Redis, a standalone Flink cluster, Prometheus."""

from streaming.stack.stack import stack_down, stack_status, stack_up

__all__ = ["stack_down", "stack_status", "stack_up"]
