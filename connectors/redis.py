"""Redis: the hashes users read (``fraud:customer:{id}``, ``sentiment:entity:{entity}``, ...).

Jobs write through the ``streamscore-redis`` table sink (``jvm/.../redis``): rows are batched into
pipelines and each key is written by a server-side script that applies a write only when its
version (event time, then Kafka offset) is not older than the stored one, so replays and restarts
leave the same final state. The CLI and tests read with redis-py.

``redis.mode`` picks a standalone server or a Redis Cluster for both. Every write and every read
touches a single key (the script reads and writes only ``KEYS[1]``; pipelines carry independent
commands, never MULTI), so no two keys need to share a slot and the keys carry no hash tags:
customers and documents spread over all masters.

Example Usage::

    t_env.execute_sql(redis_hash_sink("customer_scores", config, columns="customer_id STRING, score DOUBLE, ...",
                                      key="fraud:customer:{customer_id}", version_fields="tx_time_ms,kafka_offset",
                                      ttl_s=config.redis.customer_ttl_s))
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import redis
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException

from streaming.config import Config
from streaming.errors import ServiceUnavailable
from streaming.secret_files import read_secret


def redis_hash_sink(table: str, config: Config, columns: str, key: str, version_fields: str, ttl_s: int = 0) -> str:
    """DDL of a ``streamscore-redis`` sink: one hash per key template, newest version wins.

    The sink writes to ``redis.url`` in ``redis.mode`` (a standalone server, or a cluster it
    discovers from that node). It logs in as ``redis.username`` with the password it reads from
    ``redis.password_file`` when it opens, so the password is in neither the DDL nor the job graph.
    """
    login = {}
    if config.redis.username:
        login["user"] = config.redis.username
    if config.redis.password_file:
        login["password-file"] = str(Path(config.redis.password_file).absolute())
    if config.redis.ca_file:
        login["tls.ca-file"] = str(Path(config.redis.ca_file).absolute())
    options = "".join(f",\n  '{name}' = '{value}'" for name, value in login.items())
    return f"""CREATE TEMPORARY TABLE {table} (
  {columns}
) WITH (
  'connector' = 'streamscore-redis',
  'url' = '{config.redis.url}',
  'mode' = '{config.redis.mode}',
  'key' = '{key}',
  'version-fields' = '{version_fields}',
  'ttl' = '{ttl_s} s'{options}
)"""


def connect(config: Config, **options) -> redis.Redis | RedisCluster:
    """A redis-py client that logs in as configured: a ``RedisCluster`` in cluster mode.

    ``rediss://`` URLs verify the server's certificate and hostname against ``redis.ca_file``.
    A standalone client connects lazily, on its first command; a cluster client reads the slot
    map from ``redis.url`` at once, and routes each command to the master of its key's slot
    (``scan_iter`` walks every master, multi-key ``delete`` is split by slot).

    Example Usage::

        redis = connect(config, decode_responses=True)
        hashes = {key: redis.hgetall(key) for key in redis.scan_iter("fraud:customer:*")}

    Raises:
        ServiceUnavailable: in cluster mode, when no node answers at ``redis.url``.
    """
    if config.redis.mode != "cluster":
        return redis.Redis.from_url(config.redis.url, **_login(config), **options)
    login = _login(config)
    if "ssl_check_hostname" in login:
        # RedisCluster drops ssl_check_hostname from its arguments (redis-py 5): the nodes' pools
        # are given it, so each node's certificate is still checked against the address it has
        # in the slot map.
        login["connection_pool_class"] = functools.partial(
            redis.ConnectionPool, ssl_check_hostname=login.pop("ssl_check_hostname"))
    try:
        return RedisCluster.from_url(config.redis.url, **login, **options)
    except (RedisClusterException, redis.RedisError) as exc:
        raise ServiceUnavailable(f"the Redis Cluster at {_redact(config.redis.url)} is not reachable or not "
                                 f"ready ({str(exc).splitlines()[0]}); start it with `streamscore stack up`") from None


def connect_node(config: Config, host: str, port: int, **options) -> redis.Redis:
    """A client of one server (a single cluster node), with the configured login and TLS.

    Example Usage::

        connect_node(config, "127.0.0.1", 7001).cluster("INFO")
    """
    scheme = "rediss" if config.redis.url.startswith("rediss://") else "redis"
    return redis.Redis.from_url(f"{scheme}://{host}:{port}/0", **_login(config), **options)


def client(config: Config) -> redis.Redis | RedisCluster:
    """A redis-py client for the configured Redis; raises ServiceUnavailable if it does not answer."""
    connection = connect(config, socket_timeout=5, decode_responses=True)
    try:
        connection.ping()
    except redis.RedisError:
        raise ServiceUnavailable(f"Redis is not reachable at {_redact(config.redis.url)} "
                                 "(start it with `streamscore stack up`)") from None
    return connection


def _login(config: Config) -> dict:
    login = {}
    if config.redis.username:
        login["username"] = config.redis.username
    if config.redis.password_file:
        login["password"] = read_secret(config.redis.password_file, "redis.password_file")
    if config.redis.url.startswith("rediss://"):
        login["ssl_check_hostname"] = True
        if config.redis.ca_file:
            login["ssl_ca_certs"] = config.redis.ca_file
    return login


def _redact(url: str) -> str:
    """The URL without a password it may hold, for messages."""
    return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url)
