"""Secure mode of the local stack: a throwaway CA, a certificate for loopback, and passwords.

``streamscore stack up --secure`` runs the stack in its own run folder (``<run_dir>/secure``) with
Kafka on SASL_SSL (SCRAM) and Redis on TLS with an ACL user. Everything secret is generated here,
under ``<run folder>/secrets``, in files only their owner can read; configuration only names the
files. The material is for a developer's machine: the CA key sits next to the certificates.

Example Usage::

    config = secure_stack_config(load_config())   # what `stack up --secure` runs with
    SecureMaterial.of(config).ensure()
"""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from streaming.config import Config, to_toml
from streaming.errors import UserError
from streaming.secret_files import write_new_secret, write_private

# Kafka users created when the broker's storage is formatted (KRaft keeps SCRAM credentials in
# its metadata log): the broker's own login on its inter-broker listener, and the clients'.
KAFKA_BROKER_USER = "broker"
CLIENT_USER = "streamscore"
CERT_DAYS = 90


@dataclass(frozen=True)
class SecureMaterial:
    """The files of a secure stack, in one folder."""

    dir: Path

    @classmethod
    def of(cls, config: Config) -> SecureMaterial:
        return cls(Path(config.stack.run_dir) / "secrets")

    @property
    def ca(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.dir / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.dir / "server.key"

    @property
    def kafka_keystore(self) -> Path:
        """The server's key and certificate in one PEM file, as Kafka's PEM keystore wants them."""
        return self.dir / "kafka-keystore.pem"

    def password_file(self, service: str, user: str) -> Path:
        return self.dir / f"{service}-{user}.password"

    def password(self, service: str, user: str) -> str:
        return self.password_file(service, user).read_text()

    def ensure(self) -> None:
        """Create what is missing: the CA and server certificate (again when they expire within
        a day), and a password for each user. Existing passwords are kept: Kafka's SCRAM
        credentials were stored with them."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        if not (self.kafka_keystore.exists() and _valid_for_a_day(self.server_cert)):
            self._issue_certificates()
        for service, user in (("kafka", KAFKA_BROKER_USER), ("kafka", CLIENT_USER), ("redis", CLIENT_USER)):
            if not self.password_file(service, user).exists():
                write_new_secret(self.password_file(service, user))

    def _issue_certificates(self) -> None:
        ca_key = self.dir / "ca.key"
        request = self.dir / "server.csr"
        extensions = self.dir / "server.ext"
        # The names clients connect to: hostname verification stays on everywhere. clientAuth
        # lets the broker present the same certificate on its controller connection.
        extensions.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                              "extendedKeyUsage=serverAuth,clientAuth\n"
                              "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        for key in (ca_key, self.server_key):
            key.unlink(missing_ok=True)
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", self.ca,
                 "-days", CERT_DAYS, "-subj", "/CN=streamscore throwaway CA",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", self.server_key, "-out", request,
                 "-subj", "/CN=localhost")
        _openssl("x509", "-req", "-in", request, "-CA", self.ca, "-CAkey", ca_key, "-CAcreateserial",
                 "-out", self.server_cert, "-days", CERT_DAYS, "-extfile", extensions)
        for key in (ca_key, self.server_key):
            key.chmod(0o600)
        write_private(self.kafka_keystore, self.server_key.read_bytes() + self.server_cert.read_bytes())
        request.unlink()
        extensions.unlink()


def _openssl(*args) -> None:
    try:
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)
    except FileNotFoundError:
        raise UserError("openssl not found: install it (Debian: apt-get install openssl)") from None
    except subprocess.CalledProcessError as exc:
        raise UserError(f"openssl {args[0]} failed: {exc.stderr.decode(errors='replace').strip()}") from None


def _valid_for_a_day(certificate: Path) -> bool:
    if not certificate.exists():
        return False
    check = subprocess.run(["openssl", "x509", "-checkend", "86400", "-noout", "-in", str(certificate)],
                           capture_output=True)
    return check.returncode == 0


def redis_password_hash(password: str) -> str:
    """What redis.conf holds for an ACL user instead of the password (``#<sha256 hex>``)."""
    return "#" + hashlib.sha256(password.encode()).hexdigest()


def secure_stack_config(config: Config) -> Config:
    """The configuration ``stack up --secure`` runs with: ``<run_dir>/secure`` as its run folder,
    then :func:`secure_client_config`. A configuration already in secure mode is kept as is."""
    if not config.stack.secure:
        run_dir = str(Path(config.stack.run_dir) / "secure")
        config = dataclasses.replace(config, stack=dataclasses.replace(config.stack, secure=True, run_dir=run_dir))
    return secure_client_config(config)


def secure_client_config(config: Config) -> Config:
    """Kafka and Redis clients of a secure stack: SASL_SSL and TLS with the stack's CA, logged in
    as the stack's client user with its password files. Unchanged when ``stack.secure`` is off."""
    if not config.stack.secure:
        return config
    material = SecureMaterial.of(config)
    kafka = dataclasses.replace(
        config.kafka, security_protocol="SASL_SSL", username=CLIENT_USER,
        password_file=str(material.password_file("kafka", CLIENT_USER)), ca_file=str(material.ca))
    url = config.redis.url
    redis = dataclasses.replace(
        config.redis, url="rediss://" + url.split("://", 1)[1] if url.startswith("redis://") else url,
        username=CLIENT_USER, password_file=str(material.password_file("redis", CLIENT_USER)),
        ca_file=str(material.ca))
    return dataclasses.replace(config, kafka=kafka, redis=redis)


def write_client_config(config: Config) -> Path:
    """Write the secure stack's whole configuration as TOML (file names, no secrets) for
    ``STREAMSCORE_CONFIG``, so later commands reach the secure services; returns its path."""
    path = Path(config.stack.run_dir) / "streamscore.toml"
    path.write_text("# Written by `streamscore stack up --secure`: the secure stack's configuration.\n"
                    "# Passwords are in the files it names, never here.\n" + to_toml(config))
    return path
