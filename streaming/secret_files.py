"""Secrets (passwords, keys) live in files readable only by their owner, never in configuration.

Configuration names the file; a client reads it when it connects. The same file is read by the
Python clients and by the JVM (the Flink Kafka connector through Kafka's DirectoryConfigProvider,
the Redis sink at ``open``), and the JVM takes its content byte for byte, so a trailing newline is
refused here rather than becoming part of the password on one side only.

Example Usage::

    password = read_secret(config.kafka.password_file, "kafka.password_file")
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from streaming.errors import ConfigError


def read_secret(path: str, setting: str) -> str:
    """The content of a secret file.

    Args:
        path: the file.
        setting: the configuration key that names it, for the error message.

    Raises:
        ConfigError: the file is unreadable, empty, or ends with a newline.
    """
    try:
        value = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the secret file {setting} = {path}: {exc.strerror}") from None
    if not value:
        raise ConfigError(f"the secret file {setting} = {path} is empty")
    if value.endswith(("\n", "\r")):
        raise ConfigError(f"the secret file {setting} = {path} ends with a newline, which the JVM clients would "
                          "take as part of the secret; write it with printf '%s'")
    return value


def write_new_secret(path: Path, nbytes: int = 24) -> str:
    """Create ``path`` (mode 0600) holding a new random URL-safe secret; returns it."""
    value = secrets.token_urlsafe(nbytes)
    write_private(path, value.encode())
    return value


def write_private(path: Path, content: bytes) -> None:
    """Write ``content`` to a file only its owner can read, replacing any old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(content)
