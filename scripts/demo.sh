#!/usr/bin/env bash
# `make demo`: the local stack with both jobs running, traffic replayed, and where to look.
# Leaves everything running; running it again keeps what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
job_running() { $BIN/streamscore job list | grep -q "RUNNING  *streamscore-$1\$"; }

say "starting the local stack"
$BIN/streamscore stack up

say "models (built once, reproducibly, then kept)"
$BIN/streamscore models build fraud --if-missing

say "submitting the fraud job"
if job_running fraud; then echo "fraud is already running"; else $BIN/streamscore job submit fraud; fi

if [ "$($BIN/streamscore topic count fraud-scores)" -eq 0 ]; then
  say "replaying 30 days of simulated card transactions (and their fraud labels, 7 days later)"
  before=$($BIN/streamscore topic count transactions)
  $BIN/streamscore produce transactions --days 30 --rate 20000
  after=$($BIN/streamscore topic count transactions)
  echo "a consumer counted $((after - before)) new transactions on the broker"
  echo "waiting for the job to score them (scores are committed at each checkpoint, every 10 s)..."
  for _ in $(seq 40); do
    scored=$($BIN/streamscore topic count fraud-scores)
    echo "  $scored scored"
    [ "$scored" -ge $((after - before - 1000)) ] && break
    sleep 10
  done
else
  say "traffic was replayed before; showing the current state"
fi

say "results"
$BIN/python - <<'PY'
from streaming.config import load_config
from connectors.kafka import count_messages
from connectors.redis import client
config = load_config()
redis = client(config)
keys = sorted(redis.scan_iter(f"{config.redis.key_prefix}fraud:customer:*", count=1000))
print(f"Redis: {len(keys)} customers with a latest score, for example:")
for key in keys[:5]:
    print(f"  HGETALL {key} -> {redis.hgetall(key)}")
for topic in (config.topics.fraud_scores, config.topics.fraud_alerts, config.topics.dead_letter):
    print(f"Kafka {topic.name}: {count_messages(config, topic.name)} messages")
PY

say "where to look"
$BIN/streamscore stack status
cat <<TXT

  Flink UI     http://127.0.0.1:8081          (jobs, back-pressure, checkpoints)
  Prometheus   http://127.0.0.1:9090
  Grafana      import deploy/grafana/dashboards/*.json (see README, "Dashboards")
  Kafka        streamscore topic count fraud-alerts
  Redis        redis-cli HGETALL fraud:customer:<id>
  Logs         .run/logs/
  Stop         make down
TXT
