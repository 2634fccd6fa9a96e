"""The four services of the local stack: a Kafka broker (KRaft), Redis (a server, or a Redis
Cluster with ``redis.mode = "cluster"``), Flink and Prometheus.

Each service knows how to start itself on loopback from the project's configuration, how to tell
that it is healthy, and how to stop. ``streaming.stack.stack`` runs them in order.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlparse

from streaming.config import PROJECT_ROOT, Config
from streaming.errors import ServiceUnavailable, UserError
from streaming.secret_files import write_private
from streaming.stack.process import ManagedProcess, children, cmdline, ensure_port_free, port_open, wait_until
from streaming.stack.secure import CLIENT_USER, KAFKA_BROKER_USER, SecureMaterial, redis_password_hash

DEPLOY = PROJECT_ROOT / "deploy"
TASKMANAGER_MAIN = b"org.apache.flink.runtime.taskexecutor.TaskManagerRunner"


def host_port(address: str, default_port: int) -> tuple[str, int]:
    parsed = urlparse(address if "://" in address else f"//{address}")
    return parsed.hostname or "127.0.0.1", parsed.port or default_port


def http_json(url: str, timeout_s: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return json.load(response)


def require_program(program: str, package_hint: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise UserError(f"{program} not found on PATH: {package_hint}")
    return path


def require_java() -> str:
    java = require_program("java", "install Java 17 (Debian: apt-get install openjdk-17-jre-headless)")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', out)
    if not match or int(match.group(1)) < 17:
        raise UserError(f"Java 17 or newer is required, found: {out.splitlines()[0] if out else '?'}")
    return java


class Service:
    """What the stack needs from each part: health, start, stop and a status line."""

    name: str

    def __init__(self, config: Config):
        self.config = config
        self.run_dir = Path(config.stack.run_dir)

    def healthy(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def status(self) -> dict:
        raise NotImplementedError


class KafkaBroker(Service):
    """A single-node Apache Kafka broker in KRaft mode, run with ``java`` from Maven jars."""

    name = "kafka"

    def __init__(self, config: Config):
        super().__init__(config)
        self.host, self.port = host_port(config.kafka.bootstrap_servers.split(",")[0], 9092)
        self.dir = self.run_dir / "kafka"
        self.jars = Path(config.stack.jar_dir) / "kafka-broker"
        self.process = ManagedProcess("kafka", self.run_dir)

    def healthy(self) -> bool:
        if not port_open(self.host, self.port):
            return False
        from connectors.kafka import admin_client
        try:
            return bool(admin_client(self.config).list_topics(timeout=2).brokers)
        except Exception:
            return False

    def start(self) -> None:
        java = require_java()
        if not any(self.jars.glob("kafka_2.13-*.jar")):
            raise UserError(f"Kafka jars are missing in {self.jars}: run `make setup`")
        ensure_port_free("Kafka", self.host, self.port, "kafka.bootstrap_servers")
        ensure_port_free("Kafka", self.host, self.config.kafka.controller_port, "kafka.controller_port")
        secure = self.config.stack.secure
        if secure:
            SecureMaterial.of(self.config).ensure()
        properties = self._write_properties()
        classpath = f"{self.jars}/*"
        if not (self.dir / "data" / "meta.properties").exists():
            # Formatting assigns the cluster id; done once so data survives down/up. KRaft keeps
            # SCRAM credentials in its metadata log: the secure stack's users are created here.
            subprocess.run([java, "-cp", classpath, "kafka.tools.StorageTool", "format",
                            "--standalone", "-t", _kafka_cluster_id(), "-c", str(properties),
                            *self._scram_users()], check=True, capture_output=True)
            self.scram_marker.write_text(" ".join([KAFKA_BROKER_USER, CLIENT_USER]) if secure else "")
        elif secure and not (self.scram_marker.exists() and self.scram_marker.read_text().strip()):
            raise UserError(f"the Kafka data in {self.dir} was created without the secure stack's users; "
                            "give secure mode its own stack.run_dir (`stack up --secure` does)")
        self.process.start([java, f"-Xmx{self.config.stack.kafka_heap}", "-Xss1m",
                            f"-Dlog4j2.configurationFile={DEPLOY / 'kafka' / 'log4j2.yaml'}",
                            "-cp", classpath, "kafka.Kafka", str(properties)])
        wait_until(self.healthy, self.config.stack.start_timeout_s, "Kafka broker", self.process)

    @property
    def scram_marker(self) -> Path:
        """Names the SCRAM users the storage was formatted with (empty for a plain stack)."""
        return self.dir / "scram-users"

    def _scram_users(self) -> list[str]:
        if not self.config.stack.secure:
            return []
        material = SecureMaterial.of(self.config)
        mechanism = self.config.kafka.sasl_mechanism
        # Generated passwords are URL-safe, so they need no quoting inside the brackets.
        return [arg for user in (KAFKA_BROKER_USER, CLIENT_USER) for arg in (
            "--add-scram", f"{mechanism}=[name={user},password={material.password('kafka', user)}]")]

    def _listeners(self) -> list[str]:
        controller = f"{self.host}:{self.config.kafka.controller_port}"
        if not self.config.stack.secure:
            return [f"listeners=PLAINTEXT://{self.host}:{self.port},CONTROLLER://{controller}",
                    f"advertised.listeners=PLAINTEXT://{self.host}:{self.port}",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "inter.broker.listener.name=PLAINTEXT"]
        material = SecureMaterial.of(self.config)
        mechanism = self.config.kafka.sasl_mechanism
        login = (f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{KAFKA_BROKER_USER}" '
                 f'password="{material.password("kafka", KAFKA_BROKER_USER)}";')
        return [
            f"listeners=SASL_SSL://{self.host}:{self.port},CONTROLLER://{controller}",
            f"advertised.listeners=SASL_SSL://{self.host}:{self.port}",
            # KRaft cannot check SCRAM on the controller listener (the credentials live in the
            # metadata it serves), so it takes TLS with client certificates: only holders of a
            # key the stack's CA signed (the broker itself) get in.
            "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL",
            "listener.name.controller.ssl.client.auth=required",
            "inter.broker.listener.name=SASL_SSL",
            f"sasl.enabled.mechanisms={mechanism}",
            f"sasl.mechanism.inter.broker.protocol={mechanism}",
            f"listener.name.sasl_ssl.{mechanism.lower()}.sasl.jaas.config={login}",
            "ssl.keystore.type=PEM", f"ssl.keystore.location={material.kafka_keystore}",
            "ssl.truststore.type=PEM", f"ssl.truststore.location={material.ca}",
        ]

    def _write_properties(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        controller = f"{self.host}:{self.config.kafka.controller_port}"
        template = (DEPLOY / "kafka" / "server.properties").read_text()
        path = self.dir / "server.properties"
        # Private: in secure mode it holds the broker's own SCRAM password.
        write_private(path, (template + "\n".join([
            "", "# Written by `streamscore stack up` from the project configuration.",
            *self._listeners(),
            f"controller.quorum.bootstrap.servers={controller}",
            f"log.dirs={self.dir / 'data'}", ""])).encode())
        return path

    def stop(self) -> None:
        # A controlled shutdown flushes the log and lets the next start skip recovery.
        self.process.stop(timeout_s=60)

    def status(self) -> dict:
        return {"bootstrap": self.config.kafka.bootstrap_servers, "pid": self.process.pid,
                "healthy": self.healthy(), "log": str(self.process.log_file)}


def _kafka_cluster_id() -> str:
    import base64
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


class RedisServer(Service):
    """Debian's redis-server with append-only persistence, so ``down``/``up`` keeps the keys."""

    name = "redis"

    def __init__(self, config: Config):
        super().__init__(config)
        self.host, self.port = host_port(config.redis.url, 6379)
        self.dir = self.run_dir / "redis"
        self.process = ManagedProcess("redis", self.run_dir)

    def healthy(self) -> bool:
        if not port_open(self.host, self.port):
            return False
        import redis

        from connectors.redis import connect
        try:
            return bool(connect(self.config, socket_timeout=2).ping())
        except (redis.RedisError, UserError):
            return False

    def start(self) -> None:
        server = require_program("redis-server", "run `make setup` (installs Debian's redis-server)")
        ensure_port_free("Redis", self.host, self.port, "redis.url")
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "redis.conf"
        conf.write_text((DEPLOY / "redis" / "redis.conf").read_text() + "\n".join([
            "", "# Written by `streamscore stack up` from the project configuration.",
            f"bind {self.host}", *self._listener(), f"dir {self.dir}", ""]))
        self.process.start([server, str(conf)])
        wait_until(self.healthy, self.config.stack.start_timeout_s, "Redis", self.process)

    def _listener(self) -> list[str]:
        return redis_listener(self.config, self.port)

    def stop(self) -> None:
        # SIGTERM makes Redis fsync the append-only file before it exits.
        self.process.stop(timeout_s=30)

    def status(self) -> dict:
        return {"url": self.config.redis.url, "pid": self.process.pid, "healthy": self.healthy(),
                "log": str(self.process.log_file)}


def redis_listener(config: Config, port: int) -> list[str]:
    """redis.conf lines for the client port: plain, or (``stack.secure``) TLS with an ACL user."""
    if not config.stack.secure:
        return [f"port {port}"]
    material = SecureMaterial.of(config)
    material.ensure()
    password = material.password("redis", CLIENT_USER)
    return [
        "port 0", f"tls-port {port}",
        f"tls-cert-file {material.server_cert}", f"tls-key-file {material.server_key}",
        f"tls-ca-cert-file {material.ca}",
        # Clients prove who they are with their ACL password, not a certificate.
        "tls-auth-clients no",
        # Nobody gets in without logging in; the file holds only the password's hash.
        "user default off",
        f"user {CLIENT_USER} on {redis_password_hash(password)} ~* &* +@all",
    ]


CLUSTER_SLOTS = 16384


class RedisClusterNodes(Service):
    """A Redis Cluster on loopback (``redis.mode = "cluster"``): Debian's redis-server, one
    process per master, no replicas.

    The masters listen on the port of ``redis.url`` and the ``stack.redis_cluster_masters - 1``
    ports after it (7001, 7002, 7003 for ``redis://127.0.0.1:7001/0``), each with its cluster bus
    on its port + 10000 and its data and ``nodes.conf`` in ``<run_dir>/redis-cluster/<port>``. The
    first start hands each master an equal range of the 16384 slots and joins them; later starts
    find the cluster in ``nodes.conf``, so ``down``/``up`` keeps the slot map and (append-only
    files) the keys.

    Example Usage::

        nodes = RedisClusterNodes(config)   # config.redis.mode == "cluster"
        nodes.start()
    """

    name = "redis"

    def __init__(self, config: Config):
        super().__init__(config)
        self.host, first_port = host_port(config.redis.url, 6379)
        self.ports = [first_port + i for i in range(config.stack.redis_cluster_masters)]
        self.dir = self.run_dir / "redis-cluster"
        self.processes = {port: ManagedProcess(f"redis-cluster-{port}", self.run_dir) for port in self.ports}

    def cluster_info(self, port: int) -> dict[str, str] | None:
        """The node's ``CLUSTER INFO`` (``cluster_state``, ``cluster_slots_assigned``, ...), or
        None when it does not answer."""
        if not port_open(self.host, port):
            return None
        import redis

        from connectors.redis import connect_node
        try:
            with connect_node(self.config, self.host, port, socket_timeout=2, decode_responses=True) as node:
                # redis-py parses the reply into a dict of strings.
                return node.execute_command("CLUSTER INFO")
        except (redis.RedisError, UserError):
            return None

    def healthy(self) -> bool:
        return all((info := self.cluster_info(port)) is not None and info.get("cluster_state") == "ok"
                   for port in self.ports)

    def start(self) -> None:
        server = require_program("redis-server", "run `make setup` (installs Debian's redis-server)")
        for port, process in self.processes.items():
            if process.pid is not None:
                continue
            ensure_port_free("a Redis Cluster node", self.host, port, "redis.url")
            ensure_port_free("a Redis Cluster node", self.host, port + 10_000,
                             "redis.url (a node's cluster bus listens on its port + 10000)")
            node_dir = self.dir / str(port)
            node_dir.mkdir(parents=True, exist_ok=True)
            conf = node_dir / "redis.conf"
            conf.write_text((DEPLOY / "redis" / "redis.conf").read_text() + "\n".join([
                "", "# Written by `streamscore stack up` from the project configuration.",
                f"bind {self.host}", *redis_listener(self.config, port), f"dir {node_dir}",
                "cluster-enabled yes", "cluster-config-file nodes.conf",
                # How long a master may be silent before the others mark it failed.
                "cluster-node-timeout 5000",
                *(["tls-cluster yes"] if self.config.stack.secure else []), ""]))
            process.start([server, str(conf)])
        for port, process in self.processes.items():
            wait_until(lambda: self.cluster_info(port) is not None, self.config.stack.start_timeout_s,
                       f"Redis Cluster node {self.host}:{port}", process)
        infos = [self.cluster_info(port) or {} for port in self.ports]
        fresh = [info.get("cluster_slots_assigned") == "0" and info.get("cluster_known_nodes") == "1" for info in infos]
        if all(fresh):
            self._create()
        elif any(fresh):
            # A fresh node beside nodes that already form a cluster: joining it would need a
            # reshard, which is not this command's business.
            raise UserError(f"the Redis Cluster in {self.dir} does not match the {len(self.ports)} masters of "
                            "stack.redis_cluster_masters; stop the stack and delete that folder to start afresh")
        wait_until(self.healthy, self.config.stack.start_timeout_s, "Redis Cluster",
                   self.processes[self.ports[0]])

    def _create(self) -> None:
        """Slots split evenly, one config epoch per master, then every node meets the first."""
        import socket

        from connectors.redis import connect_node
        nodes = [connect_node(self.config, self.host, port, socket_timeout=10) for port in self.ports]
        for index, node in enumerate(nodes):
            first, end = index * CLUSTER_SLOTS // len(nodes), (index + 1) * CLUSTER_SLOTS // len(nodes)
            node.execute_command("CLUSTER ADDSLOTS", *range(first, end))
            # Distinct epochs, as `redis-cli --cluster create` sets them: no collision to resolve.
            node.execute_command("CLUSTER SET-CONFIG-EPOCH", index + 1)
        address = socket.gethostbyname(self.host)  # MEET takes an IP address
        for port in self.ports[1:]:
            nodes[0].execute_command("CLUSTER MEET", address, port)
        for node in nodes:
            node.close()

    def stop(self) -> None:
        # SIGTERM makes each node fsync its append-only file and save nodes.conf before it exits.
        for process in self.processes.values():
            process.stop(timeout_s=30)

    def status(self) -> dict:
        nodes = [{"address": f"{self.host}:{port}", "pid": process.pid, "log": str(process.log_file)}
                 for port, process in self.processes.items()]
        return {"url": self.config.redis.url, "mode": "cluster", "pid": nodes[0]["pid"],
                "healthy": self.healthy(), "nodes": nodes, "log": nodes[0]["log"]}


class FlinkCluster(Service):
    """A standalone Flink session cluster from the ``bin/`` scripts inside the apache-flink wheel.

    Configuration comes from ``deploy/flink/config.yaml``; what depends on this machine (ports,
    folders, the Python interpreter) is passed as ``-D`` dynamic properties.
    """

    name = "flink"

    def __init__(self, config: Config):
        super().__init__(config)
        self.host, self.rest_port = host_port(config.flink.rest_url, 8081)
        self.dir = self.run_dir / "flink"
        self.jobmanager = ManagedProcess("flink-jobmanager", self.run_dir)
        self.taskmanagers = [ManagedProcess(f"flink-taskmanager-{i}", self.run_dir)
                             for i in range(config.flink.taskmanagers)]

    def overview(self) -> dict | None:
        try:
            return http_json(f"{self.config.flink.rest_url}/overview")
        except (OSError, ValueError):
            return None

    def healthy(self) -> bool:
        overview = self.overview()
        return (overview is not None and self.jobmanager.pid is not None
                and all(tm.pid is not None for tm in self.taskmanagers)
                and overview.get("taskmanagers", 0) >= len(self.taskmanagers))

    def start(self) -> None:
        require_java()
        self.dir.mkdir(parents=True, exist_ok=True)
        env = flink_environment(self.config)
        bin_dir = Path(env["FLINK_HOME"]) / "bin"
        if self.jobmanager.pid is None:
            ensure_port_free("the Flink JobManager", self.host, self.rest_port, "flink.rest_url")
            ensure_port_free("the Flink JobManager", self.host, self.config.flink.rpc_port, "flink.rpc_port")
            self.jobmanager.start([str(bin_dir / "jobmanager.sh"), "start-foreground",
                                   *self._dynamic_properties(reporter_port=self._metrics_port(0))], env=env)
            wait_until(lambda: self.overview() is not None, self.config.stack.start_timeout_s,
                       "Flink JobManager", self.jobmanager)
        for index, taskmanager in enumerate(self.taskmanagers):
            if taskmanager.pid is None:
                # Under a keeper, which starts it again when it ends by itself; with a resource id
                # of its own for every start ({started}: HHMMSS): one started in place of a dead
                # one under the same id was taken for the dead one when the JobManager noticed
                # the loss, and its tasks were cancelled (issue 29).
                taskmanager.start([sys.executable, "-m", "streaming.stack.keeper", "--",
                                   str(bin_dir / "taskmanager.sh"), "start-foreground",
                                   *self._dynamic_properties(reporter_port=self._metrics_port(index + 1)),
                                   "-D", f"taskmanager.resource-id=taskmanager-{index}-{{started}}"], env=env)
        wait_until(self.healthy, self.config.stack.start_timeout_s, "Flink TaskManagers",
                   self.taskmanagers[-1] if self.taskmanagers else None)

    def _metrics_port(self, index: int) -> int:
        first = int(self.config.prometheus.flink_metrics_ports.split("-")[0])
        return first + index

    def _dynamic_properties(self, reporter_port: int) -> list[str]:
        c = self.config
        props = {
            "jobmanager.rpc.address": self.host,
            "jobmanager.rpc.port": c.flink.rpc_port,
            "jobmanager.bind-host": self.host,
            "taskmanager.bind-host": self.host,
            "taskmanager.host": self.host,
            "rest.address": self.host,
            "rest.bind-address": self.host,
            "rest.port": self.rest_port,
            "jobmanager.memory.process.size": c.stack.jobmanager_memory,
            "taskmanager.memory.process.size": c.stack.taskmanager_memory,
            "taskmanager.numberOfTaskSlots": c.flink.slots_per_taskmanager,
            "parallelism.default": c.flink.parallelism,
            "execution.checkpointing.dir": f"file://{self.dir / 'checkpoints'}",
            "execution.checkpointing.savepoint-dir": f"file://{self.dir / 'savepoints'}",
            "io.tmp.dirs": str(self.dir / "tmp"),
            "python.executable": sys.executable,
            "python.client.executable": sys.executable,
            "metrics.reporter.prom.port": reporter_port,
            "web.upload.dir": str(self.dir / "uploads"),
        }
        (self.dir / "tmp").mkdir(parents=True, exist_ok=True)
        (self.dir / "uploads").mkdir(parents=True, exist_ok=True)
        return [arg for key, value in props.items() for arg in ("-D", f"{key}={value}")]

    def stop(self) -> None:
        for taskmanager in self.taskmanagers + _stray_taskmanagers(self.run_dir, len(self.taskmanagers)):
            taskmanager.stop()
        self.jobmanager.stop()

    def taskmanager_jvms(self) -> list[int]:
        """The pids of the TaskManager JVMs that run now (each is its keeper's child)."""
        return [pid for tm in self.taskmanagers if tm.pid is not None for pid in children(tm.pid)
                if TASKMANAGER_MAIN in cmdline(pid)]

    def status(self) -> dict:
        overview = self.overview() or {}
        return {"rest": self.config.flink.rest_url, "jobmanager_pid": self.jobmanager.pid,
                "taskmanager_pids": self.taskmanager_jvms(),
                "slots_total": overview.get("slots-total"), "jobs_running": overview.get("jobs-running"),
                "healthy": self.healthy(), "log_dir": str(self.run_dir / "logs")}


def _stray_taskmanagers(run_dir: Path, configured: int) -> list[ManagedProcess]:
    """TaskManagers started under an earlier, larger ``flink.taskmanagers`` setting."""
    strays = []
    for pid_file in (run_dir / "pids").glob("flink-taskmanager-*.pid"):
        index = int(pid_file.stem.rsplit("-", 1)[1])
        if index >= configured:
            strays.append(ManagedProcess(pid_file.stem, run_dir))
    return strays


def flink_home() -> Path:
    import pyflink
    return Path(pyflink.__file__).parent


def flink_environment(config: Config) -> dict[str, str]:
    """Environment for the wheel's ``bin/`` scripts: our config, lib and log folders."""
    home = flink_home()
    run_dir = Path(config.stack.run_dir)
    lib = run_dir / "flink" / "lib"
    # The wheel keeps flink-python in opt/; a cluster that runs Python UDFs needs it in lib/.
    lib.mkdir(parents=True, exist_ok=True)
    for jar in [*(home / "lib").glob("*.jar"), *(home / "opt").glob("flink-python-*.jar")]:
        link = lib / jar.name
        if not link.exists():
            link.symlink_to(jar)
    env = dict(os.environ)
    env.update({
        "FLINK_HOME": str(home),
        "FLINK_CONF_DIR": str(DEPLOY / "flink"),
        "FLINK_LIB_DIR": str(lib),
        "FLINK_LOG_DIR": str(run_dir / "logs"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    })
    return env


class PrometheusServer(Service):
    """Debian's Prometheus with ``deploy/prometheus`` (scrape config and alert rules)."""

    name = "prometheus"

    def __init__(self, config: Config):
        super().__init__(config)
        self.host, self.port = host_port(config.prometheus.url, 9090)
        self.dir = self.run_dir / "prometheus"
        self.targets = self.dir / "targets"  # file discovery: flink.json, and cli-<pid>.json while a CLI runs
        self.process = ManagedProcess("prometheus", self.run_dir)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.config.prometheus.url}/-/ready", timeout=2) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def start(self) -> None:
        server = require_program("prometheus", "run `make setup` (installs Debian's prometheus)")
        ensure_port_free("Prometheus", self.host, self.port, "prometheus.url")
        self.write_config()
        self.process.start([server, f"--config.file={self.dir / 'prometheus.yml'}",
                            f"--storage.tsdb.path={self.dir / 'data'}",
                            f"--web.listen-address={self.host}:{self.port}",
                            "--web.enable-lifecycle"])
        wait_until(self.healthy, self.config.stack.start_timeout_s, "Prometheus", self.process)

    def write_config(self) -> None:
        """Copy the shipped configuration and write this machine's scrape targets beside it."""
        self.targets.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEPLOY / "prometheus" / "prometheus.yml", self.dir / "prometheus.yml")
        shutil.copytree(DEPLOY / "prometheus" / "rules", self.dir / "rules", dirs_exist_ok=True)
        first = int(self.config.prometheus.flink_metrics_ports.split("-")[0])
        flink_host = host_port(self.config.flink.rest_url, 8081)[0]
        flink = [{"targets": [f"{flink_host}:{first}"], "labels": {"component": "jobmanager"}},
                 {"targets": [f"{flink_host}:{first + 1 + i}" for i in range(self.config.flink.taskmanagers)],
                  "labels": {"component": "taskmanager"}}]
        (self.targets / "flink.json").write_text(json.dumps(flink, indent=2))

    def stop(self) -> None:
        self.process.stop(timeout_s=30)

    def status(self) -> dict:
        return {"url": self.config.prometheus.url, "pid": self.process.pid, "healthy": self.healthy(),
                "log": str(self.process.log_file)}


def all_services(config: Config) -> list[Service]:
    """In start order: Flink's reporters and Prometheus come after the data services."""
    redis = RedisClusterNodes(config) if config.redis.mode == "cluster" else RedisServer(config)
    return [KafkaBroker(config), redis, FlinkCluster(config), PrometheusServer(config)]


def service_error(service: Service) -> ServiceUnavailable:
    return ServiceUnavailable(f"{service.name} is not running (start it with `streamscore stack up`)")
