"""Errors a user can act on. The CLI prints their message on one line and exits non-zero."""


class UserError(Exception):
    """A mistake or missing prerequisite the user can fix; never shown as a traceback."""


class ConfigError(UserError):
    """The configuration file or environment holds an unknown key or a bad value."""


class ServiceUnavailable(UserError):
    """A service the command needs (Kafka, Redis, Flink, Prometheus) does not answer."""
