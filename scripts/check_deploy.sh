#!/usr/bin/env bash
# `make check-deploy`: validate every deployment manifest under deploy/, offline. The schemas and
# tools for deploy/k8s come pinned and sha256-checked from `make setup` (.cache/deploy-check).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
TOOLS=.cache/deploy-check/bin
fail=0
check() { local what=$1; shift; if "$@" >/tmp/check-deploy.$$ 2>&1; then echo "ok    $what"; else echo "FAIL  $what"; sed 's/^/      /' /tmp/check-deploy.$$; fail=1; fi; }

check "deploy/prometheus/prometheus.yml" promtool check config --syntax-only deploy/prometheus/prometheus.yml
for rules in deploy/prometheus/rules/*.yml; do check "$rules" promtool check rules "$rules"; done
check "deploy/flink/config.yaml" $BIN/python -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' deploy/flink/config.yaml
check "deploy/k8s/Dockerfile (hadolint)" $TOOLS/hadolint --no-color deploy/k8s/Dockerfile
# deploy/k8s/*.yaml and *.json, and what kustomize renders from deploy/kustomization.yaml
# (Kubernetes' schemas, the operators' CRDs, config.yaml), one line per object.
$BIN/python -m streaming.deploy_check || fail=1
rm -f /tmp/check-deploy.$$
exit $fail
