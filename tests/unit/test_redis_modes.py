"""Redis standalone or cluster, without services: what redis.mode selects for the sink, the
redis-py clients and the local stack."""

from __future__ import annotations

import dataclasses

import pytest
import redis
from redis.cluster import REDIS_ALLOWED_KEYS, RedisCluster

from connectors.redis import connect, redis_hash_sink
from streaming.config import Config, from_dict, load_config
from streaming.errors import ConfigError, ServiceUnavailable
from streaming.stack.services import RedisClusterNodes, RedisServer, all_services

PASSWORD = "s3cret-Value_42"


def cluster_config(url: str = "redis://127.0.0.1:7001/0", **redis_fields) -> Config:
    config = Config()
    return dataclasses.replace(config, redis=dataclasses.replace(config.redis, mode="cluster", url=url, **redis_fields))


def test_redis_mode_is_standalone_by_default_and_loads_from_the_environment():
    assert Config().redis.mode == "standalone"
    config = load_config(env={"STREAMSCORE_REDIS__MODE": "cluster", "STREAMSCORE_REDIS__URL": "redis://127.0.0.1:7001"})
    assert (config.redis.mode, config.redis.url) == ("cluster", "redis://127.0.0.1:7001")
    assert from_dict(config.to_dict()) == config


@pytest.mark.parametrize("env, message", [
    ({"STREAMSCORE_REDIS__MODE": "sentinel"}, "config redis.mode must be one of standalone, cluster, got 'sentinel'"),
    ({"STREAMSCORE_REDIS__MODE": "cluster", "STREAMSCORE_REDIS__URL": "redis://127.0.0.1:7001/2"},
     "redis.url must name database 0 .* in cluster mode"),
    ({"STREAMSCORE_STACK__REDIS_CLUSTER_MASTERS": "0"}, "stack.redis_cluster_masters must be at least 1"),
])
def test_an_unknown_mode_or_a_cluster_database_other_than_0_is_a_config_error(env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(env=env)


@pytest.mark.parametrize("config, mode", [(Config(), "standalone"), (cluster_config(), "cluster")])
def test_the_redis_sink_writes_in_the_configured_mode(config, mode):
    ddl = redis_hash_sink("r", config, "k STRING, v BIGINT", key="x:{k}", version_fields="v")
    assert f"'mode' = '{mode}'" in ddl
    assert f"'url' = '{config.redis.url}'" in ddl


def test_a_standalone_config_gets_a_server_client():
    assert type(connect(Config())) is redis.Redis


def test_a_cluster_client_logs_in_and_verifies_each_node_like_a_server_client(monkeypatch, tmp_path):
    # No cluster here (a RedisCluster reads the slot map at once): record what it would be given.
    given = {}
    monkeypatch.setattr(RedisCluster, "from_url", classmethod(lambda cls, url, **kwargs: given.update(kwargs, url=url)))
    (tmp_path / "redis").write_text(PASSWORD)
    config = cluster_config("rediss://127.0.0.1:7001/0", username="svc", password_file=str(tmp_path / "redis"),
                            ca_file=str(tmp_path / "ca.pem"))
    connect(config, decode_responses=True)
    assert given["url"] == config.redis.url and given["decode_responses"]
    assert (given["username"], given["password"], given["ssl_ca_certs"]) == ("svc", PASSWORD, config.redis.ca_file)
    # RedisCluster keeps the pool class but drops ssl_check_hostname: the pool of each node the
    # slot map names must carry it.
    assert "connection_pool_class" in REDIS_ALLOWED_KEYS and "ssl_check_hostname" not in given
    pool = given["connection_pool_class"](host="127.0.0.1", port=7002, connection_class=redis.SSLConnection)
    assert pool.connection_kwargs["ssl_check_hostname"] is True


def test_an_unreachable_cluster_is_a_one_line_service_error():
    with pytest.raises(ServiceUnavailable, match=r"Redis Cluster at redis://127.0.0.1:1/0 is not reachable"):
        connect(cluster_config("redis://127.0.0.1:1/0"))


def test_the_stack_runs_a_server_by_default_and_a_cluster_at_the_url_port_and_those_after_it(tmp_path):
    assert type(all_services(Config())[1]) is RedisServer
    config = cluster_config()
    config = dataclasses.replace(config, stack=dataclasses.replace(config.stack, run_dir=str(tmp_path),
                                                                   redis_cluster_masters=4))
    nodes = all_services(config)[1]
    assert isinstance(nodes, RedisClusterNodes) and nodes.name == "redis"
    assert nodes.ports == [7001, 7002, 7003, 7004]
    status = nodes.status()
    assert status["url"] == config.redis.url and not status["healthy"]
    assert [node["address"] for node in status["nodes"]] == [f"127.0.0.1:{port}" for port in range(7001, 7005)]
