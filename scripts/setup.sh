#!/usr/bin/env bash
# Installs everything streamscore needs on a fresh Debian machine with Python 3.11+ and Java 17:
# Debian packages (redis-server, prometheus, openssl) when missing, the project venv with pinned PyPI
# packages, and the pinned JVM jars from Maven Central with their sha256 checked.
# Each step is skipped when its result is already present and up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
JARS=.cache/jars
EXTRAS=${EXTRAS:-dev,train}

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

need_python() {
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python 3.11 or 3.12"
  "$PYTHON" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 12)))' \
    || die "Python 3.11 or 3.12 is required (apache-flink 2.2 has no wheels for $("$PYTHON" -V))"
}

need_java() {
  command -v java >/dev/null || die "java not found: install Java 17 (apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
}

debian_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v openssl >/dev/null || missing+=(openssl)  # stack up --secure makes its certificates
  [ ${#missing[@]} -eq 0 ] && return
  [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}: run 'sudo apt-get install ${missing[*]}' or make setup as root"
  say "installing Debian packages: ${missing[*]}"
  # The packages' post-install scripts would start system-wide services on the ports the
  # stack uses; policy-rc.d tells them not to.
  local policy=/usr/sbin/policy-rc.d created_policy=
  if [ ! -e $policy ]; then printf '#!/bin/sh\nexit 101\n' > $policy; chmod +x $policy; created_policy=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -n "$created_policy" ] && rm -f $policy
  return 0
}

python_env() {
  local stamp=$VENV/.streamscore-$(cat pyproject.toml | sha256sum | cut -c1-16)-$EXTRAS
  [ -f "$stamp" ] && return
  say "creating $VENV and installing the pinned Python packages (extras: $EXTRAS)"
  [ -x $VENV/bin/python ] || "$PYTHON" -m venv $VENV
  $VENV/bin/python -m pip install -q --upgrade pip
  $VENV/bin/python -m pip install -q -e ".[$EXTRAS]"
  rm -f $VENV/.streamscore-*
  touch "$stamp"
}

maven_jars() {
  local name=$1 pom=deploy/maven/$1.xml dest=$JARS/$1
  local stamp=$dest/.pom-$(sha256sum "$pom" deploy/maven/jars.sha256 | sha256sum | cut -c1-16)
  [ -f "$stamp" ] && return
  say "fetching $name jars from Maven Central"
  rm -rf "$dest"
  mvn -q -B -ntp -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$PWD/$dest" -DincludeScope=runtime \
    || die "mvn could not fetch the $name jars (is Maven Central reachable?)"
  verify_jars "$dest"
  touch "$stamp"
}

streamscore_jar() {
  # streamscore's own Flink functions (jvm/), rebuilt when their sources change.
  local dest=$JARS/streamscore
  local stamp=$dest/.src-$(find jvm/pom.xml jvm/src/main -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  [ -f "$stamp" ] && return
  say "building the streamscore Flink functions (jvm/)"
  mvn -q -B -ntp -Dstyle.color=never -f jvm/pom.xml package -DskipTests \
    || die "building jvm/ failed (see the mvn output above)"
  rm -rf "$dest" && mkdir -p "$dest"
  cp jvm/target/streamscore-flink.jar "$dest/"
  touch "$stamp"
}

verify_jars() {
  local dest=$1 jar expected actual
  for jar in "$dest"/*.jar; do
    expected=$(awk -v f="$(basename "$jar")" '$2 == f {print $1}' deploy/maven/jars.sha256)
    [ -n "$expected" ] || die "$(basename "$jar") has no pinned sha256 in deploy/maven/jars.sha256"
    actual=$(sha256sum "$jar" | cut -d' ' -f1)
    [ "$expected" = "$actual" ] || die "sha256 mismatch for $(basename "$jar"): expected $expected, got $actual"
  done
}

need_python
need_java
debian_packages
python_env
maven_jars kafka-broker
maven_jars flink-connectors
streamscore_jar
say "ready"
