"""streamscore's Grafana dashboards, as code.

``streamscore dashboards`` writes ``deploy/grafana/dashboards/<uid>.json`` from the definitions
below; a test fails when the committed files differ from them, and the stack test runs every
panel's query against the real Prometheus. Each dashboard has a stable uid, a ``datasource``
variable (any Prometheus) and a ``job`` variable (Flink job names).

Metric names: Flink's reporter writes ``flink_<scope>_<groups>_<name>``; the inference operator's
group is ``model=<name>, device=<cpu|cuda>``, the Redis sink's ``redis``, dead letters
``stage=..., reason=...``, the spike detector's ``entity=...``; CLI producers export
``streamscore_produced_events_total{topic}``.

Example Usage::

    write_dashboards(Path("deploy/grafana/dashboards"))
    for expr in panel_queries(render("streamscore-fraud")): ...
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from streaming.config import PROJECT_ROOT

DASHBOARD_DIR = PROJECT_ROOT / "deploy" / "grafana" / "dashboards"
OPERATOR = "flink_taskmanager_job_task_operator"
INFERENCE = f"{OPERATOR}_model_device_inference"
DEAD_LETTERS = f"{OPERATOR}_stage_reason_dead_letters"
REDIS = f"{OPERATOR}_redis_redis"
ENTITY = f"{OPERATOR}_entity_sentiment"
JOB = 'job_name=~"$job"'
FRAUD = 'job_name="streamscore_fraud"'
SENTIMENT = 'job_name="streamscore_sentiment"'
RATE = "$__rate_interval"


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    description: str = ""
    kind: str = "timeseries"
    width: int = 12


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    entity_variable: bool = False
    tags: tuple[str, ...] = field(default=("streamscore",))


def _p(title: str, *queries: tuple[str, str], **options) -> Panel:
    return Panel(title, tuple(queries), **options)


DASHBOARDS = (
    Dashboard("streamscore-pipeline", "streamscore · Pipeline overview",
              "Every job: throughput per task, Kafka lag, back-pressure, checkpoints, restarts, dead letters, Redis.", (
        _p("Records in per second, by task",
           (f"sum by (job_name, task_name) (rate(flink_taskmanager_job_task_numRecordsIn{{{JOB}}}[{RATE}]))",
            "{{job_name}} · {{task_name}}"), unit="ops", width=24),
        _p("Kafka consumer lag (records behind)",
           (f"max by (job_name) ({OPERATOR}_KafkaSourceReader_KafkaConsumer_records_lag_max{{{JOB}}})", "{{job_name}}"),
           description="Records between the job's position and the end of its input partitions; growing means it falls behind."),
        _p("Back-pressure (ms per second)",
           (f"max by (job_name, task_name) (flink_taskmanager_job_task_backPressuredTimeMsPerSecond{{{JOB}}})",
            "{{job_name}} · {{task_name}}"), unit="ms"),
        _p("Event time behind wall clock",
           (f"max by (job_name) ({OPERATOR}_watermarkLag{{{JOB}}})", "{{job_name}}"), unit="ms",
           description="How far each job's watermark trails the clock: replays show days, live traffic seconds."),
        _p("Dead letters per second, by stage and reason",
           (f"sum by (job_name, stage, reason) (rate({DEAD_LETTERS}{{{JOB}}}[{RATE}]))",
            "{{job_name}} · {{stage}} · {{reason}}"), unit="ops"),
        _p("Checkpoint duration",
           (f"max by (job_name) (flink_jobmanager_job_lastCheckpointDuration{{{JOB}}})", "{{job_name}}"), unit="ms"),
        _p("Checkpoint size",
           (f"max by (job_name) (flink_jobmanager_job_lastCheckpointSize{{{JOB}}})", "{{job_name}}"), unit="bytes"),
        _p("Restarts and failed checkpoints",
           (f"max by (job_name) (flink_jobmanager_job_numRestarts{{{JOB}}})", "{{job_name}} restarts"),
           (f"max by (job_name) (flink_jobmanager_job_numberOfFailedCheckpoints{{{JOB}}})",
            "{{job_name}} failed checkpoints")),
        _p("Job uptime",
           (f"max by (job_name) (flink_jobmanager_job_uptime{{{JOB}}})", "{{job_name}}"), unit="ms"),
        _p("Redis writes per second",
           (f"sum by (job_name) (rate({REDIS}_writes{{{JOB}}}[{RATE}]))", "{{job_name}} applied"),
           (f"sum by (job_name) (rate({REDIS}_stale_writes_skipped{{{JOB}}}[{RATE}]))", "{{job_name}} older than stored"),
           unit="ops"),
        _p("Redis pipeline latency p99, and write errors",
           (f'max by (job_name) ({REDIS}_batch_latency_ms{{{JOB}, quantile="0.99"}})', "{{job_name}} p99 ms"),
           (f"sum by (job_name) ({REDIS}_write_errors{{{JOB}}})", "{{job_name}} errors")),
        _p("Events produced per second (streamscore produce)",
           (f"sum by (topic) (rate(streamscore_produced_events_total[{RATE}]))", "{{topic}}"), unit="ops"),
    )),
    Dashboard("streamscore-fraud", "streamscore · Fraud", "The card-fraud scoring job.", (
        _p("Transactions scored per second",
           (f'sum(rate({INFERENCE}_rows_scored{{{FRAUD}, model="fraud"}}[{RATE}]))', "scored"), unit="ops"),
        _p("Alerts per second",
           (f'sum(rate({OPERATOR}_numRecordsIn{{{FRAUD}, operator_name=~"fraud_alerts_.*_Writer"}}[{RATE}]))', "alerts"),
           unit="ops"),
        _p("Score distribution (last 4,096 scores)",
           *((f'max({INFERENCE}_score_p{q}_ppm{{{FRAUD}, model="fraud"}}) / 1e6', f"p{q}") for q in (50, 90, 99)),
           unit="percentunit", description="A shift here without a model change means the traffic changed."),
        _p("Alert share of scored transactions",
           (f'sum(rate({OPERATOR}_numRecordsIn{{{FRAUD}, operator_name=~"fraud_alerts_.*_Writer"}}[{RATE}])) '
            f'/ sum(rate({INFERENCE}_rows_scored{{{FRAUD}, model="fraud"}}[{RATE}]))', "alerts / scored"),
           unit="percentunit"),
        _p("Serving model version",
           (f'max by (device) ({INFERENCE}_model_version{{{FRAUD}, model="fraud"}})', "fraud on {{device}}"),
           kind="stat"),
        _p("Rows the model could not score, per second",
           (f'sum(rate({INFERENCE}_rows_rejected{{{FRAUD}, model="fraud"}}[{RATE}])) or vector(0)', "rejected"),
           unit="ops"),
        _p("Dead letters, by stage and reason",
           (f"sum by (stage, reason) (rate({DEAD_LETTERS}{{{FRAUD}}}[{RATE}]))", "{{stage}} · {{reason}}"), unit="ops"),
        _p("Redis fraud:customer writes per second",
           (f"sum(rate({REDIS}_writes{{{FRAUD}}}[{RATE}]))", "written"), unit="ops"),
    )),
    Dashboard("streamscore-sentiment", "streamscore · Sentiment",
              "The financial-news sentiment job: documents, negative share per entity, spike alerts.", (
        _p("Documents scored per second",
           (f'sum(rate({INFERENCE}_rows_scored{{{SENTIMENT}, model="sentiment"}}[{RATE}]))', "scored"), unit="ops"),
        _p("Negative share per entity (last window)",
           (f'max by (entity) ({ENTITY}_negative_share{{entity=~"$entity"}})', "{{entity}}"), unit="percentunit"),
        _p("Baseline negative share per entity",
           (f'max by (entity) ({ENTITY}_baseline{{entity=~"$entity"}})', "{{entity}}"), unit="percentunit"),
        _p("Documents per entity (last window)",
           (f'max by (entity) ({ENTITY}_documents{{entity=~"$entity"}})', "{{entity}}")),
        _p("Spike alerts, by entity",
           (f'sum by (entity) ({ENTITY}_alerts{{entity=~"$entity"}})', "{{entity}}")),
        _p("Duplicates and refused documents per second",
           (f"sum by (stage, reason) (rate({DEAD_LETTERS}{{{SENTIMENT}}}[{RATE}]))", "{{stage}} · {{reason}}"),
           unit="ops"),
        _p("Model batch latency",
           (f'max({INFERENCE}_batch_latency_micros_p50{{{SENTIMENT}, model="sentiment"}}) / 1000', "p50"),
           (f'max({INFERENCE}_batch_latency_micros_p99{{{SENTIMENT}, model="sentiment"}}) / 1000', "p99"), unit="ms"),
    ), entity_variable=True),
    Dashboard("streamscore-inference", "streamscore · Inference", "The ONNX Runtime operator of every job and model.", (
        _p("Rows scored per second, by model and device",
           (f"sum by (model, device) (rate({INFERENCE}_rows_scored{{{JOB}}}[{RATE}]))", "{{model}} on {{device}}"),
           unit="ops"),
        _p("Batch latency",
           (f"max by (model) ({INFERENCE}_batch_latency_micros_p50{{{JOB}}}) / 1000", "{{model}} p50"),
           (f"max by (model) ({INFERENCE}_batch_latency_micros_p99{{{JOB}}}) / 1000", "{{model}} p99"), unit="ms"),
        _p("Batch size",
           (f"max by (model) ({INFERENCE}_batch_size_p50{{{JOB}}})", "{{model}} p50"),
           (f"max by (model) ({INFERENCE}_batch_size_max{{{JOB}}})", "{{model}} max")),
        _p("Serving version and device",
           (f"max by (model, device) ({INFERENCE}_model_version{{{JOB}}})", "{{model}} on {{device}}"), kind="stat"),
        _p("Model load time",
           (f"max by (model) ({INFERENCE}_model_load_millis{{{JOB}}})", "{{model}}"), unit="ms"),
        _p("Errors, rejected rows and swaps",
           (f"sum by (model) ({INFERENCE}_errors{{{JOB}}}) or on() vector(0)", "{{model}} errors"),
           (f"sum by (model) ({INFERENCE}_rows_rejected{{{JOB}}}) or on() vector(0)", "{{model}} rejected"),
           (f"sum by (model) ({INFERENCE}_swaps{{{JOB}}}) or on() vector(0)", "{{model}} swaps"),
           (f"sum by (model) ({INFERENCE}_swap_failures{{{JOB}}}) or on() vector(0)", "{{model}} failed swaps")),
    )),
)


def _variables(dashboard: Dashboard) -> list[dict]:
    variables = [{"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
                  "current": {}, "hide": 0},
                 _query_variable("job", "Job", "label_values(flink_jobmanager_job_uptime, job_name)")]
    if dashboard.entity_variable:
        variables.append(_query_variable("entity", "Entity", f"label_values({ENTITY}_documents, entity)"))
    return variables


def _query_variable(name: str, label: str, query: str) -> dict:
    """A multi-value variable from label values, "All" by default (matching every value)."""
    return {"name": name, "label": label, "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "query": {"query": query, "refId": name}, "definition": query, "refresh": 2,
            "includeAll": True, "multi": True, "allValue": ".*", "current": {"text": "All", "value": "$__all"}}


def render(uid: str) -> dict:
    """The Grafana JSON model of one dashboard."""
    dashboard = next(d for d in DASHBOARDS if d.uid == uid)
    source = {"type": "prometheus", "uid": "${datasource}"}
    panels, x, y = [], 0, 0
    for number, panel in enumerate(dashboard.panels, start=1):
        if x + panel.width > 24:
            x, y = 0, y + 8
        panels.append({
            "id": number, "type": panel.kind, "title": panel.title, "description": panel.description,
            "datasource": source, "gridPos": {"x": x, "y": y, "w": panel.width, "h": 8},
            "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if panel.kind == "timeseries" else {},
            "targets": [{"refId": chr(ord("A") + i), "datasource": source, "expr": expr, "legendFormat": legend}
                        for i, (expr, legend) in enumerate(panel.queries)],
        })
        x += panel.width
    return {"uid": dashboard.uid, "title": dashboard.title, "description": dashboard.description,
            "tags": list(dashboard.tags), "timezone": "utc", "schemaVersion": 39, "version": 1, "editable": True,
            "refresh": "10s", "time": {"from": "now-30m", "to": "now"},
            "templating": {"list": _variables(dashboard)}, "annotations": {"list": []}, "panels": panels}


def dashboard_files(folder: Path = DASHBOARD_DIR) -> dict[Path, str]:
    return {folder / f"{d.uid}.json": json.dumps(render(d.uid), indent=2, ensure_ascii=False) + "\n"
            for d in DASHBOARDS}


def write_dashboards(folder: Path = DASHBOARD_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for path, text in dashboard_files(folder).items():
        path.write_text(text)
    return sorted(dashboard_files(folder))


def stale_dashboards(folder: Path = DASHBOARD_DIR) -> list[Path]:
    """Committed dashboard files that differ from the definitions (or are missing)."""
    return [path for path, text in dashboard_files(folder).items()
            if not path.exists() or path.read_text() != text]


def panel_queries(model: dict) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of a dashboard's JSON model."""
    return [(panel["title"], target["expr"]) for panel in model["panels"] for target in panel["targets"]]


def substitute(expr: str, rate_interval: str = "1m") -> str:
    """A panel query as Grafana sends it with every variable at "All"."""
    expr = expr.replace("$__rate_interval", rate_interval)
    return re.sub(r"\$(job|entity)\b", ".*", expr)
