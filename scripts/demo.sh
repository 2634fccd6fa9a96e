#!/usr/bin/env bash
# `make demo`: the local stack with traffic flowing. Leaves everything running.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "starting the local stack"
$BIN/streamscore stack up

say "publishing 10,000 simulated card transactions (and their fraud-label feedback)"
before=$($BIN/streamscore topic count transactions)
$BIN/streamscore produce transactions --count 10000
after=$($BIN/streamscore topic count transactions)
echo "a consumer counted $((after - before)) new transactions on the broker ($after in all)"

say "where to look"
$BIN/streamscore stack status
cat <<TXT

  Kafka        127.0.0.1:9092    streamscore topic count transactions
  Flink UI     http://127.0.0.1:8081
  Prometheus   http://127.0.0.1:9090
  Logs         .run/logs/
  Stop         make down
TXT
