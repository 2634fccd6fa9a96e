"""Redis: the hashes users read (``fraud:customer:{id}``, ``sentiment:entity:{entity}``, ...).

Jobs write through the ``streamscore-redis`` table sink (``jvm/.../redis``): rows are batched into
pipelines and each key is written by a server-side script that applies a write only when its
version (event time, then Kafka offset) is not older than the stored one, so replays and restarts
leave the same final state. The CLI and tests read with redis-py.

Example Usage::

    t_env.execute_sql(redis_hash_sink("customer_scores", config, columns="customer_id STRING, score DOUBLE, ...",
                                      key="fraud:customer:{customer_id}", version_fields="tx_time_ms,kafka_offset",
                                      ttl_s=config.redis.customer_ttl_s))
"""

from __future__ import annotations

from pathlib import Path

import redis

from streaming.config import Config
from streaming.errors import ServiceUnavailable
from streaming.secret_files import read_secret


def redis_hash_sink(table: str, config: Config, columns: str, key: str, version_fields: str, ttl_s: int = 0,
                    mode: str = "standalone") -> str:
    """DDL of a ``streamscore-redis`` sink: one hash per key template, newest version wins.

    The sink logs in as ``redis.username`` with the password it reads from ``redis.password_file``
    when it opens, so the password is in neither the DDL nor the job graph.
    """
    login = {}
    if config.redis.username:
        login["user"] = config.redis.username
    if config.redis.password_file:
        login["password-file"] = str(Path(config.redis.password_file).resolve())
    if config.redis.ca_file:
        login["tls.ca-file"] = str(Path(config.redis.ca_file).resolve())
    options = "".join(f",\n  '{name}' = '{value}'" for name, value in login.items())
    return f"""CREATE TEMPORARY TABLE {table} (
  {columns}
) WITH (
  'connector' = 'streamscore-redis',
  'url' = '{config.redis.url}',
  'mode' = '{mode}',
  'key' = '{key}',
  'version-fields' = '{version_fields}',
  'ttl' = '{ttl_s} s'{options}
)"""


def connect(config: Config, **options) -> redis.Redis:
    """A redis-py client that logs in as configured; connects lazily, on its first command.

    ``rediss://`` URLs verify the server's certificate and hostname against ``redis.ca_file``.
    """
    login = {}
    if config.redis.username:
        login["username"] = config.redis.username
    if config.redis.password_file:
        login["password"] = read_secret(config.redis.password_file, "redis.password_file")
    if config.redis.url.startswith("rediss://"):
        login["ssl_check_hostname"] = True
        if config.redis.ca_file:
            login["ssl_ca_certs"] = config.redis.ca_file
    return redis.Redis.from_url(config.redis.url, **login, **options)


def client(config: Config) -> redis.Redis:
    """A redis-py client for the configured Redis; raises ServiceUnavailable if it does not answer."""
    connection = connect(config, socket_timeout=5, decode_responses=True)
    try:
        connection.ping()
    except redis.RedisError:
        raise ServiceUnavailable(f"Redis is not reachable at {config.redis.url} "
                                 "(start it with `streamscore stack up`)") from None
    return connection
