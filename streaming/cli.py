"""The ``streamscore`` command: the local stack, producers, jobs, models and benchmarks.

Every command prints a one-line error and exits non-zero on a mistake the user can fix or a
service that does not answer; tracebacks are kept for bugs.

Example Usage::

    streamscore stack up
    streamscore produce transactions --count 10000 --rate 5000
    streamscore job submit fraud
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from streaming.config import Config, load_config
from streaming.errors import UserError

Handler = Callable[[argparse.Namespace, Config], int | None]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    config = None
    result = "error"
    try:
        config = load_config(args.config)
        code = args.handler(args, config) or 0
        result = "ok" if code == 0 else f"exit {code}"
        return code
    except UserError as exc:
        result = f"error: {exc}"
        print(f"streamscore: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        result = "interrupted"
        print("streamscore: interrupted", file=sys.stderr)
        return 130
    finally:
        if args.audited_action and config is not None:
            # A command on another stack than the configured one (stack up --secure) names it.
            _audit(getattr(args, "audit_config", None) or config, args, result)


def _audit(config: Config, args: argparse.Namespace, result: str) -> None:
    """One audit record for a state-changing command, whatever its outcome (connectors/audit.py)."""
    from connectors.audit import audit_record, write_audit
    arguments = {key: value for key, value in vars(args).items()
                 if key not in ("handler", "audited_action", "audit_config", "config", "verbose")}
    try:
        write_audit(config, audit_record(config, args.audited_action, arguments, result))
    except Exception as exc:  # the command's own outcome stands; say that the record is missing
        print(f"streamscore: warning: no audit record of `{args.audited_action}`: {exc}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamscore", description="Real-time AI scoring on Kafka and Flink.")
    parser.add_argument("--config", metavar="PATH",
                        help="TOML configuration file (default: $STREAMSCORE_CONFIG or ./streamscore.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _stack_commands(commands)
    _produce_commands(commands)
    _topic_commands(commands)
    _job_commands(commands)
    _model_commands(commands)
    _fraud_commands(commands)
    _sentiment_commands(commands)
    _observability_commands(commands)
    _audit_commands(commands)
    _bench_commands(commands)
    return parser


def _command(group, name: str, handler: Handler, help: str, audit: bool = False) -> argparse.ArgumentParser:
    """A subcommand; ``audit``: it changes the data flow, so each run leaves an audit record."""
    sub = group.add_parser(name, help=help, description=help)
    sub.set_defaults(handler=handler, audited_action=f"{group.dest_prefix} {name}" if audit else None)
    return sub


def _group(commands, name: str, help: str):
    parser = commands.add_parser(name, help=help, description=help)
    group = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    group.dest_prefix = name  # the group's name, for audit records ("job submit")
    return group


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


# --- stack ---------------------------------------------------------------------------------------

def _stack_commands(commands) -> None:
    stack = _group(commands, "stack", "the local single-machine stack: Kafka, Redis, Flink, Prometheus")
    up = _command(stack, "up", _stack_up, "start every part that is not running, create the topics", audit=True)
    down = _command(stack, "down", _stack_down, "stop every part; data is kept")
    status = _command(stack, "status", _stack_status, "each part with its address, pid and health")
    status.add_argument("--json", action="store_true", help="print JSON")
    for command in (up, down, status):
        command.add_argument("--secure", action="store_true",
                             help="the secure stack, in <run_dir>/secure: Kafka on SASL_SSL (SCRAM), Redis on TLS "
                                  "with an ACL user; `up` creates a throwaway CA, certificates and passwords")


def _stack_config(args, config):
    """The stack the command means: the secure one with ``--secure``, else the configured one."""
    from streaming.stack.secure import secure_client_config, secure_stack_config
    return secure_stack_config(config) if args.secure else secure_client_config(config)


def _stack_up(args, config):
    from streaming.stack import stack_up
    from streaming.stack.secure import write_client_config
    config = _stack_config(args, config)
    args.audit_config = config
    stack_up(config)
    if config.stack.secure:
        path = write_client_config(config)
        print(f"secure stack: its configuration (no secrets) is {path}; for other commands run\n"
              f"  export STREAMSCORE_CONFIG={path}")


def _stack_down(args, config):
    from streaming.stack import stack_down
    stack_down(_stack_config(args, config))


def _stack_status(args, config):
    from streaming.stack import stack_status
    status = stack_status(_stack_config(args, config))
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        for name, part in status.items():
            address = part.get("bootstrap") or part.get("url") or part.get("rest")
            pids = part.get("taskmanager_pids")
            pid = part.get("pid") or part.get("jobmanager_pid")
            extra = f" taskmanagers={pids}" if pids is not None else ""
            if part.get("nodes"):  # a Redis Cluster
                extra = " nodes=" + ",".join(f"{node['address']}(pid={node['pid']})" for node in part["nodes"])
            state = "healthy" if part["healthy"] else "DOWN"
            print(f"{name:<11} {state:<8} {address:<28} pid={pid}{extra}")
    return 0 if all(part["healthy"] for part in status.values()) else 1


# --- produce -------------------------------------------------------------------------------------

def _produce_commands(commands) -> None:
    produce = _group(commands, "produce", "publish events to Kafka")
    tx = _command(produce, "transactions", _produce_transactions,
                  "card transactions and their delayed fraud-label feedback")
    tx.add_argument("--from", dest="source", metavar="PATH",
                    help="replay a labelled file or folder in the Fraud Detection Handbook's raw "
                         "format (daily YYYY-MM-DD.pkl pickles, one .csv or one .parquet). "
                         "Reading pickles executes code: only name files you trust.")
    tx.add_argument("--count", type=_positive_int, help="stop after this many transactions")
    tx.add_argument("--rate", type=_positive_float, metavar="EPS",
                    help="transactions per second (default: as fast as possible)")
    tx.add_argument("--label-delay-days", type=float, default=None,
                    help="delay between a transaction and its fraud label (default: fraud.label_delay_days)")
    tx.add_argument("--seed", type=int, default=None, help="simulator seed (default: fraud.simulator_seed)")
    tx.add_argument("--customers", type=_positive_int, help="simulated customers (default: fraud.customers)")
    tx.add_argument("--terminals", type=_positive_int, help="simulated terminals (default: fraud.terminals)")
    tx.add_argument("--days", type=_positive_int, help="simulated days (default: fraud.days)")
    tx.add_argument("--start-date", help="first simulated day, YYYY-MM-DD (default: fraud.start_date)")
    tx.add_argument("--live", action="store_true",
                    help="stamp each transaction with its send time (needs --rate); labels follow "
                         "--label-delay-days later in real time, e.g. --label-delay-days 0.0002")
    tx.add_argument("--no-labels", action="store_true", help="publish transactions only")
    tx.add_argument("--id-start", type=int, metavar="N",
                    help="number the transactions from N (default: simulated ones after the highest id on the "
                         "topic, replayed ones keep their file's ids); the summary says how many ids repeat")
    news = _command(produce, "news", _produce_news, "news and posts for the sentiment job")
    news.add_argument("--from", dest="source", metavar="PATH",
                      help="CSV file with a text column (and optionally entity, source, url, label); "
                           "default: built-in financial headlines about the companies in sentiment.entities_file")
    news.add_argument("--count", type=_positive_int, help="stop after this many documents")
    news.add_argument("--rate", type=_positive_float, metavar="EPS",
                      help="send live at this many documents per second, each stamped with its send time")
    news.add_argument("--event-rate", type=_positive_float, default=10.0, metavar="EPS",
                      help="without --rate: replay the recent past at this many documents per second of "
                           "event time, ending now (default 10)")
    news.add_argument("--scenario", choices=["steady", "spike"], default="steady",
                      help="steady traffic, or steady traffic then a burst of negative news about one entity")
    news.add_argument("--seed", type=int, default=7, help="seed for ids, entities and timing")


def _produce_transactions(args, config):
    from streaming.producers import produce_transactions
    produce_transactions(config, args)


def _produce_news(args, config):
    from streaming.producers import produce_news
    produce_news(config, args)


# --- topics --------------------------------------------------------------------------------------

def _topic_commands(commands) -> None:
    topic = _group(commands, "topic", "create, change and inspect Kafka topics")
    count = _command(topic, "count", _topic_count, "count the committed messages of a topic with a consumer")
    count.add_argument("name", help="topic name, e.g. transactions or dead-letter")
    create = _command(topic, "create", _topic_create,
                      "create the configured topics that do not exist yet (existing ones are left as they are)",
                      audit=True)
    create.add_argument("names", nargs="*", metavar="NAME", help="configured topic names (default: all)")
    alter = _command(topic, "alter", _topic_alter,
                     "bring existing topics' retention, message size and timestamp type to the configuration "
                     "(partitions are never changed)", audit=True)
    alter.add_argument("names", nargs="+", metavar="NAME", help="configured topic names, e.g. transactions")


def _configured_topics(config, names: list[str]):
    by_name = {topic.name: topic for topic in config.topics.all()}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise UserError(f"not a configured topic: {', '.join(unknown)} (configured: {', '.join(sorted(by_name))})")
    return [by_name[name] for name in names] if names else list(by_name.values())


def _topic_create(args, config):
    from connectors.kafka import check_reachable, ensure_topics
    check_reachable(config)
    created = ensure_topics(config, _configured_topics(config, args.names))
    print(f"created {', '.join(created)}" if created else "every topic exists already; none changed")


def _topic_alter(args, config):
    from connectors.kafka import alter_topics, check_reachable
    check_reachable(config)
    topics = _configured_topics(config, args.names)
    alter_topics(config, topics)
    print(f"altered {', '.join(t.name for t in topics)} to the configured retention, message size and timestamp type")


def _topic_count(args, config):
    from connectors.kafka import check_reachable, count_messages
    check_reachable(config)
    print(count_messages(config, args.name))


# --- jobs ----------------------------------------------------------------------------------------

JOB_NAMES = ["fraud", "sentiment", "smoke"]


def _job_commands(commands) -> None:
    job = _group(commands, "job", "submit and manage PyFlink jobs on a Flink cluster")
    submit = _command(job, "submit", _job_submit, "submit a job to a Flink cluster", audit=True)
    submit.add_argument("name", choices=JOB_NAMES)
    submit.add_argument("--parallelism", type=_positive_int, help="default: flink.parallelism")
    submit.add_argument("--cluster", metavar="URL", help="Flink REST endpoint (default: flink.rest_url)")
    submit.add_argument("--from-savepoint", metavar="PATH", help="resume from this savepoint")
    submit.add_argument("--requirements", action="store_true",
                        help="ship the project's Python requirements as wheels, installed by each TaskManager "
                             "(for a cluster whose Python has PyFlink but not the jobs' packages)")
    listing = _command(job, "list", _job_list, "jobs on the cluster")
    listing.add_argument("--cluster", metavar="URL")
    listing.add_argument("--json", action="store_true")
    cancel = _command(job, "cancel", _job_cancel, "cancel a running job", audit=True)
    cancel.add_argument("name", help="job name (fraud, sentiment, smoke) or job id")
    cancel.add_argument("--cluster", metavar="URL")
    savepoint = _command(job, "savepoint", _job_savepoint, "take a savepoint of a running job", audit=True)
    savepoint.add_argument("name", help="job name or job id")
    savepoint.add_argument("--cluster", metavar="URL")
    savepoint.add_argument("--stop", action="store_true", help="stop the job after the savepoint")


def _job_submit(args, config):
    from streaming.flink_client import submit_job
    job_id = submit_job(config, args.name, parallelism=args.parallelism, cluster=args.cluster,
                        savepoint=args.from_savepoint, requirements=args.requirements)
    print(f"submitted {args.name} as job {job_id}")


def _job_list(args, config):
    from streaming.flink_client import FlinkRest
    rest = FlinkRest(args.cluster or config.flink.rest_url)
    jobs = rest.jobs()
    for job in jobs:
        if job["state"] in ("FAILED", "RESTARTING", "FAILING"):
            job["cause"] = rest.failure_cause(job["id"])
    if args.json:
        print(json.dumps(jobs, indent=2))
    for job in [] if args.json else jobs:
        cause = f"  cause: {job['cause']}" if job.get("cause") else ""
        print(f"{job['id']}  {job['state']:<10} {job['name']}{cause}")


def _job_cancel(args, config):
    from streaming.flink_client import FlinkRest
    rest = FlinkRest(args.cluster or config.flink.rest_url)
    job_id = rest.cancel(args.name)
    print(f"cancelled job {job_id}")


def _job_savepoint(args, config):
    from streaming.flink_client import FlinkRest
    rest = FlinkRest(args.cluster or config.flink.rest_url)
    location = rest.savepoint(args.name, stop=args.stop)
    print(location)


# --- models --------------------------------------------------------------------------------------

def _model_commands(commands) -> None:
    models = _group(commands, "models", "train and export models to the registry")
    build = _command(models, "build", _models_build, "train, export and publish models, reproducibly", audit=True)
    build.add_argument("which", nargs="?", choices=["fraud", "sentiment"], help="default: both")
    build.add_argument("--data", metavar="PATH",
                       help="fraud: train on a labelled file in the handbook's raw format instead of the "
                            "simulator (daily pickles, .csv or .parquet; pickles run code, name only files you "
                            "trust); sentiment: a label,text CSV (default ../shared/data/phrasebank/train.csv)")
    build.add_argument("--train-start", metavar="DATE", help="fraud: first day of the training week (default 2018-07-25)")
    build.add_argument("--select", action="store_true",
                       help="fraud: repeat the prequential model selection and record its choice")
    build.add_argument("--shipped", action="store_true",
                       help="sentiment: publish the model shipped in inference/models/sentiment instead of training "
                            "(training needs the sentiment-train extra and about an hour on 2 cores)")
    build.add_argument("--if-missing", action="store_true",
                       help="only build models that have no serving version (sentiment: the shipped one)")


def _models_build(args, config):
    from inference.registry import ModelRegistry, RegistryError
    registry = ModelRegistry(config.inference.registry_dir)
    for which in [args.which] if args.which else ["fraud", "sentiment"]:
        name = config.fraud.model if which == "fraud" else config.sentiment.model
        if args.if_missing:
            try:
                registry.load(name)
                print(f"{which}: serving {name}:{registry.serving_version(name)} (kept)")
                continue
            except RegistryError:
                pass
        if which == "fraud":
            from inference.training.fraud import build_fraud_model
            version = build_fraud_model(config, data=args.data, train_start=args.train_start, select=args.select)
        elif args.shipped or args.if_missing:
            from inference.training.sentiment import install_shipped_model
            version = install_shipped_model(config)
        else:
            from inference.training.sentiment import build_sentiment_model
            version = build_sentiment_model(config, data=args.data)
        metrics = registry.load(name, version).metadata.get("metrics", {})
        print(f"{which}: published {name}:{version} and made it the serving version; metrics {json.dumps(metrics)}")


# --- fraud ---------------------------------------------------------------------------------------

def _fraud_commands(commands) -> None:
    fraud = _group(commands, "fraud", "fraud model evaluation")
    evaluate = _command(fraud, "evaluate", _fraud_evaluate,
                        "the handbook's methodology on a labelled dataset: train a week, 7-day delay, test a week")
    evaluate.add_argument("--data", required=True, metavar="PATH",
                          help="labelled transactions in the handbook's raw format (daily pickles, .csv or "
                               ".parquet; pickles run code, name only files you trust)")
    evaluate.add_argument("--train-start", default="2018-07-25", metavar="DATE")


def _fraud_evaluate(args, config):
    from inference.training.fraud import evaluate_fraud
    print(json.dumps(evaluate_fraud(config, args.data, args.train_start)))


# --- sentiment -----------------------------------------------------------------------------------

def _sentiment_commands(commands) -> None:
    sentiment = _group(commands, "sentiment", "sentiment model evaluation")
    evaluate = _command(sentiment, "evaluate", _sentiment_evaluate,
                        "score a label,text CSV with the serving sentiment model; JSON with accuracy, macro_f1, "
                        "per-class figures")
    evaluate.add_argument("--data", required=True, metavar="CSV", help="labels negative, neutral, positive")


def _sentiment_evaluate(args, config):
    from sentiment.evaluation import evaluate_csv
    print(json.dumps(evaluate_csv(config, Path(args.data))))


# --- observability -------------------------------------------------------------------------------

def _audit_commands(commands) -> None:
    audit = _group(commands, "audit", "the audit trail: who changed the data flow, how, and with what result")
    tail = _command(audit, "tail", _audit_tail, "the newest audit records, oldest first")
    tail.add_argument("-n", "--lines", type=_positive_int, default=20, help="how many (default 20)")
    tail.add_argument("--follow", action="store_true", help="keep printing new records until interrupted")
    tail.add_argument("--json", action="store_true", help="one JSON record per line")


def _audit_tail(args, config):
    import orjson

    from connectors.kafka import check_reachable, consumer, read_topic
    check_reachable(config)
    records = [orjson.loads(m.value()) for m in read_topic(config, config.topics.audit.name, idle_timeout_s=2)]

    def show(record: dict) -> None:
        if args.json:
            print(orjson.dumps(record).decode(), flush=True)
            return
        arguments = " ".join(f"{k}={v}" for k, v in record["arguments"].items() if v not in (None, False, [], ""))
        print(f"{record['time']}  {record['user']}@{record['host']} ({record['principal']})  "
              f"{record['action']}  {arguments}  -> {record['result']}", flush=True)

    for record in records[-args.lines:]:
        show(record)
    if args.follow:
        import uuid
        reader = consumer(config, group_id=f"streamscore-audit-{uuid.uuid4()}", **{"auto.offset.reset": "latest"})
        reader.subscribe([config.topics.audit.name])
        try:
            while True:
                message = reader.poll(1.0)
                if message is not None and not message.error():
                    show(orjson.loads(message.value()))
        finally:
            reader.close()


def _observability_commands(commands) -> None:
    dashboards = _command(commands, "dashboards", _dashboards,
                          "write the Grafana dashboards (deploy/grafana/dashboards) from streaming/dashboards.py")
    dashboards.add_argument("--check", action="store_true", help="only fail if the committed files are stale")
    report = _command(commands, "report", _report,
                      "render the key series of the last minutes from Prometheus into PNG charts")
    report.add_argument("--minutes", type=_positive_int, default=30, help="how far back (default 30)")
    report.add_argument("--out", metavar="DIR", default="reports", help="where the PNGs go (default reports/)")


def _dashboards(args, config):
    from streaming.dashboards import stale_dashboards, write_dashboards
    if args.check:
        stale = stale_dashboards()
        if stale:
            raise UserError(f"stale dashboards (run `streamscore dashboards`): {', '.join(p.name for p in stale)}")
        print("dashboards are up to date")
        return
    for path in write_dashboards():
        print(path)


def _report(args, config):
    from streaming.report import render_report
    for path in render_report(config, minutes=args.minutes, out=Path(args.out)):
        print(path)


# --- benchmarks ----------------------------------------------------------------------------------

def _bench_commands(commands) -> None:
    bench = _group(commands, "bench", "benchmarks (JSON on the last line with --json)")
    produce = _command(bench, "produce", _bench_produce, "producer throughput to the broker")
    produce.add_argument("--count", type=_positive_int, default=300_000)
    produce.add_argument("--runs", type=_positive_int, default=3)
    produce.add_argument("--json", action="store_true")
    inference = _command(bench, "inference", _bench_inference,
                         "the inference operator in a real PyFlink job against bare ONNX Runtime")
    inference.add_argument("--model", default="fraud", help="a tabular model in the registry (default: fraud)")
    inference.add_argument("--rows", type=_positive_int, default=4_000_000)
    inference.add_argument("--json", action="store_true")
    e2e = _command(bench, "e2e", _bench_e2e, "a job end to end on the local stack, against a baseline program")
    e2e.add_argument("--job", choices=["fraud", "sentiment"], required=True)
    e2e.add_argument("--no-baseline", action="store_true", help="fraud: skip the baseline program")
    e2e.add_argument("--json", action="store_true")
    soak = _command(bench, "soak", _bench_soak, "the fraud job for a long time at a share of its maximum rate: "
                                                 "lag, latency, memory and restarts over time")
    soak.add_argument("--minutes", type=_positive_float, default=10)
    soak.add_argument("--fraction", type=_positive_float, default=0.7, help="share of the maximum rate (default 0.7)")
    soak.add_argument("--max-eps", type=_positive_float, help="the job's maximum rate (default: measure it first)")
    soak.add_argument("--json", action="store_true")
    chaos = _command(bench, "chaos", _bench_chaos,
                     "live traffic at a share of the job's maximum while the TaskManager or a Python worker is "
                     "SIGKILLed every 60-90 s: recoveries, lag over time, and every transaction scored once")
    chaos.add_argument("--minutes", type=_positive_float, default=10)
    chaos.add_argument("--fraction", type=_positive_float, default=0.5, help="share of the maximum rate (default 0.5)")
    chaos.add_argument("--max-eps", type=_positive_float, help="the job's maximum rate (default: measure it first)")
    chaos.add_argument("--seed", type=int, default=29, help="seed of the faults' times and kinds (default 29)")
    chaos.add_argument("--json", action="store_true")
    idle = _command(bench, "idle-restart", _bench_idle_restart,
                    "issue 29's reproduction, repeated: a job with history, idle partitions, then live traffic "
                    "with a TaskManager SIGKILL; every run must score each transaction once, none late")
    idle.add_argument("--runs", type=_positive_int, default=20)
    idle.add_argument("--idle-s", type=_positive_float, help="quiet spell (default: idle timeout + 15 s)")
    idle.add_argument("--json", action="store_true")


def _bench_chaos(args, config):
    from streaming.bench.chaos import bench_chaos
    result = bench_chaos(config, minutes=args.minutes, fraction=args.fraction, max_eps=args.max_eps, seed=args.seed)
    summary = {k: v for k, v in result.items() if k != "series"}
    print(json.dumps(summary) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))


def _bench_idle_restart(args, config):
    from streaming.bench.chaos import bench_idle_restart
    result = bench_idle_restart(config, runs=args.runs, idle_s=args.idle_s)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


def _bench_inference(args, config):
    from streaming.bench.inference import bench_inference
    result = bench_inference(config, model=args.model, rows=args.rows)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


def _bench_e2e(args, config):
    if args.job == "sentiment":
        from streaming.bench.e2e_sentiment import bench_e2e_sentiment
        result = bench_e2e_sentiment(config)
    else:
        from streaming.bench.e2e import bench_e2e_fraud
        result = bench_e2e_fraud(config, baseline=not args.no_baseline)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items() if k != "steps"))


def _bench_soak(args, config):
    from streaming.bench.soak import bench_soak
    result = bench_soak(config, minutes=args.minutes, fraction=args.fraction, max_eps=args.max_eps)
    summary = {k: v for k, v in result.items() if k != "series"}
    print(json.dumps(summary) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))


def _bench_produce(args, config):
    from streaming.bench.produce import bench_produce
    result = bench_produce(config, count=args.count, runs=args.runs)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    sys.exit(main())
