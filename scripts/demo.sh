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
$BIN/streamscore models build --if-missing

say "submitting the fraud and sentiment jobs"
for job in fraud sentiment; do
  if job_running $job; then echo "$job is already running"; else $BIN/streamscore job submit $job; fi
done

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

if [ "$($BIN/streamscore topic count sentiment-scores)" -eq 0 ]; then
  say "replaying the last 6 minutes of financial news, with a burst of negative news about one company"
  $BIN/streamscore produce news --scenario spike --count 3000 --event-rate 10
  echo "news keeps flowing live at 10 documents/s for 2 minutes, so the last windows close..."
  $BIN/streamscore produce news --count 1200 --rate 10 --seed 8 >/dev/null
fi

say "results"
$BIN/python - <<'PY'
from streaming.config import load_config
import json
from connectors.kafka import count_messages, read_topic
from connectors.redis import client
config = load_config()
redis = client(config)
keys = sorted(redis.scan_iter(f"{config.redis.key_prefix}fraud:customer:*", count=1000))
print(f"Redis: {len(keys)} customers with a latest score, for example:")
for key in keys[:5]:
    print(f"  HGETALL {key} -> {redis.hgetall(key)}")
for topic in (config.topics.fraud_scores, config.topics.fraud_alerts, config.topics.sentiment_scores,
              config.topics.sentiment_alerts, config.topics.dead_letter):
    print(f"Kafka {topic.name}: {count_messages(config, topic.name)} messages")
print("Latest entity aggregates (sentiment:entity:*):")
for key in sorted(redis.scan_iter(f"{config.redis.key_prefix}sentiment:entity:*", count=1000)):
    entity = redis.hgetall(key)
    print(f"  {key.split(':')[-1]:8} window ending {entity['window_end']}: {entity['count']:>4} documents, "
          f"negative share {float(entity['negative_share']):.2f}, mean P(negative) {float(entity['mean_negative']):.2f}")
print("Sentiment alerts:")
for message in read_topic(config, config.topics.sentiment_alerts.name, idle_timeout_s=2):
    alert = json.loads(message.value())
    print(f"  {alert['entity']} {alert['window_start']}..{alert['window_end']}: {alert['reason']}")
PY

say "where to look"
$BIN/streamscore stack status
cat <<TXT

  Flink UI     http://127.0.0.1:8081          (jobs, back-pressure, checkpoints)
  Prometheus   http://127.0.0.1:9090
  Grafana      import deploy/grafana/dashboards/*.json (see README, "Observability")
  Kafka        streamscore topic count fraud-alerts   (and sentiment-alerts, dead-letter)
  Redis        redis-cli HGETALL fraud:customer:<id>   ·   HGETALL sentiment:entity:NOKIA
  Logs         .run/logs/
  Stop         make down
TXT
