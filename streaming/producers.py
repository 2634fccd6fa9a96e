"""``streamscore produce``: publish transactions, labels and news to Kafka.

A ``Publisher`` sends chunks of ready messages at an optional rate, shows progress on stderr,
waits for every delivery report and ends with one summary line.
"""

from __future__ import annotations

import sys
import time
from argparse import Namespace
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from connectors.kafka import check_reachable, ensure_topics, producer
from streaming.cli_metrics import DELIVERY_FAILURES, EVENTS_PRODUCED, exposed
from fraud.events import EventChunk, iso_strings
from streaming.config import Config
from streaming.errors import ServiceUnavailable, UserError


class Publisher:
    """Send messages to Kafka at a bounded rate and account for every delivery.

    Example Usage::

        with Publisher(config, rate=5000, total=100_000, unit="transactions") as publisher:
            for chunk in chunks:
                publisher.send(chunk)
        print(publisher.summary())
    """

    def __init__(self, config: Config, rate: float | None = None, total: int | None = None,
                 unit: str = "events", counted_topic: str | None = None, progress: bool = True):
        self.config = config
        self.rate = rate
        self.total = total
        self.unit = unit
        # --rate and --count refer to one topic (transactions); labels ride along.
        self.counted_topic = counted_topic
        self.show_progress = progress
        self.sent = Counter()
        self.failed = 0
        self.first_error: str | None = None
        self._producer = None
        self._started = 0.0
        self._last_progress = 0.0

    def __enter__(self) -> Publisher:
        check_reachable(self.config)
        # Only failures produce a delivery report: counting successes one callback at a time
        # would cost more than producing.
        self._producer = producer(self.config, **{"delivery.report.only.error": True,
                                                  "on_delivery": self._on_error})
        self._started = self._last_progress = time.monotonic()
        return self

    def __exit__(self, *exc_info) -> None:
        self.flush()

    def _on_error(self, error, message) -> None:
        if error is not None:
            self.failed += 1
            DELIVERY_FAILURES.inc()
            self.first_error = self.first_error or str(error)

    @property
    def counted(self) -> int:
        return self.sent[self.counted_topic] if self.counted_topic else sum(self.sent.values())

    def send(self, chunk: EventChunk) -> None:
        produce = self._producer.produce
        for topic, key, value, timestamp in zip(chunk.topics, chunk.keys, chunk.values,
                                                chunk.timestamps.tolist()):
            while True:
                try:
                    produce(topic, value, key, timestamp=timestamp)
                    break
                except BufferError:
                    self._producer.poll(0.05)
            self.sent[topic] += 1
        for topic, count in Counter(chunk.topics).items():
            EVENTS_PRODUCED.labels(topic=topic).inc(count)
        self._producer.poll(0)
        self._pace()
        self._progress()

    def _pace(self) -> None:
        if self.rate is None:
            return
        ahead = self.counted / self.rate - (time.monotonic() - self._started)
        if ahead > 0:
            time.sleep(ahead)

    def _progress(self, final: bool = False) -> None:
        if not self.show_progress:
            return
        now = time.monotonic()
        interval = 0.5 if sys.stderr.isatty() else 10.0
        if not final and now - self._last_progress < interval:
            return
        self._last_progress = now
        elapsed = max(now - self._started, 1e-9)
        of = f"/{self.total:,}" if self.total else ""
        percent = f" ({100 * self.counted / self.total:.0f}%)" if self.total else ""
        line = f"{self.unit} {self.counted:,}{of}{percent}  {self.counted / elapsed:,.0f}/s"
        end = "\r" if sys.stderr.isatty() and not final else "\n"
        print(f"\r{line}".ljust(60) if sys.stderr.isatty() else line, end=end, file=sys.stderr, flush=True)

    def flush(self) -> None:
        if self._producer is None:
            return
        remaining = self._producer.flush(60)
        if remaining:
            self.failed += remaining
            self.first_error = self.first_error or f"{remaining} messages not delivered within 60 s"
        self._progress(final=True)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._started

    def summary(self) -> str:
        parts = " and ".join(f"{n:,} {topic}" for topic, n in self.sent.items()) or "nothing"
        total = sum(self.sent.values())
        line = (f"produced {parts} in {self.elapsed_s:.1f} s "
                f"({total / max(self.elapsed_s, 1e-9):,.0f} messages/s); {self.failed} failed")
        if self.first_error:
            line += f" (first error: {self.first_error})"
        return line


def publish(config: Config, chunks: Iterable[EventChunk], rate: float | None, total: int | None,
            unit: str, counted_topic: str | None, note: str = "") -> Publisher:
    """Send every chunk, print the summary (and ``note``), and fail if any message was not delivered."""
    with exposed(config, command=f"produce {unit}"), \
            Publisher(config, rate=rate, total=total, unit=unit, counted_topic=counted_topic) as publisher:
        for chunk in chunks:
            publisher.send(chunk)
    print(publisher.summary() + note)
    if publisher.failed:
        raise ServiceUnavailable(f"{publisher.failed} messages were not delivered: {publisher.first_error}")
    return publisher


def produce_transactions(config: Config, args: Namespace) -> Publisher:
    """``produce transactions``: the built-in simulator, or a replay of a handbook-format file."""
    import numpy as np

    from fraud.events import fraud_events
    from fraud.handbook_format import read_raw
    from fraud.simulator import SimulationParams, simulate

    check_reachable(config)
    ensure_topics(config, [config.topics.transactions, config.topics.fraud_labels])
    if args.source:
        frame = read_raw(args.source)
    else:
        params = SimulationParams(
            customers=args.customers or config.fraud.customers,
            terminals=args.terminals or config.fraud.terminals,
            days=args.days or _days_for(args.count, config),
            start_date=args.start_date or config.fraud.start_date,
            seed=config.fraud.simulator_seed if args.seed is None else args.seed)
        frame = simulate(params)
    if args.count:
        frame = frame.iloc[:args.count]
    frame, ids_note = with_transaction_ids(config, frame, args.id_start, replay=bool(args.source))
    delay_days = config.fraud.label_delay_days if args.label_delay_days is None else args.label_delay_days
    live_times = None
    if args.live:
        if not args.rate:
            raise UserError("--live needs --rate: each event is stamped with its planned send time")
        live_times = int(time.time() * 1000) + (np.arange(len(frame)) * 1000 / args.rate).astype(np.int64)
    chunks = fraud_events(frame, None if args.no_labels else int(delay_days * 86_400_000), config.topics,
                          tx_times_ms=live_times, chunk_size=max(1, int(args.rate)) if args.live else 20_000)
    if args.live:
        chunks = _hold_until_due(chunks)
    return publish(config, chunks, args.rate, len(frame), "transactions", config.topics.transactions.name,
                   note=ids_note)


def with_transaction_ids(config: Config, frame, id_start: int | None, replay: bool):
    """``frame`` with the transaction ids this run sends, and a note on them for the summary line.

    The job refuses a transaction id it has seen (``duplicate_event``), so a simulator run numbers
    its transactions after the highest id at the end of the topic's partitions; a replay keeps its
    file's ids. ``id_start`` numbers them from there instead. When ids may repeat (a replay, or ids
    the user chose), the note says how many are already on the topic.
    """
    import numpy as np

    topic = config.topics.transactions.name
    following = next_transaction_id(config)
    if id_start is None and not replay:
        id_start = following
    if id_start is not None:
        frame = frame.assign(TRANSACTION_ID=id_start + np.arange(len(frame), dtype=np.int64))
    ids = frame["TRANSACTION_ID"]
    note = f"; transaction ids {ids.min():,}–{ids.max():,}" if len(frame) else ""
    if replay or id_start < following:
        reused = len(set(ids.astype(str)) & _ids_on(config, topic))
        if reused:
            note += (f"; {reused:,} of them are already on {topic}: a running job dead-letters a repeat at the "
                     f"same terminal within its history as duplicate_event (use --id-start to number them anew)")
    return frame, note


def next_transaction_id(config: Config) -> int:
    """One past the highest numeric transaction id among the newest events of ``transactions``."""
    import orjson

    from connectors.kafka import newest_messages

    highest = -1
    for message in newest_messages(config, config.topics.transactions.name):
        try:
            highest = max(highest, int(orjson.loads(message.value())["transaction_id"]))
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            continue  # a bad event, or an id of the user's own that is not a number
    return highest + 1


def _ids_on(config: Config, topic: str) -> set[str]:
    import orjson

    from connectors.kafka import read_topic

    ids = set()
    for message in read_topic(config, topic, idle_timeout_s=2):
        try:
            ids.add(str(orjson.loads(message.value())["transaction_id"]))
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            continue
    return ids


def _days_for(count: int | None, config: Config) -> int:
    # The simulator makes about 1.95 transactions per customer and day; simulate only the days
    # needed for --count (the first days do not depend on how many are simulated).
    if not count:
        return config.fraud.days
    per_day = 1.9 * config.fraud.customers
    return max(1, min(config.fraud.days, int(count / per_day) + 2))


def _hold_until_due(chunks: Iterable[EventChunk]) -> Iterable[EventChunk]:
    """In live mode, never publish an event before its (shifted) event time."""
    for chunk in chunks:
        due = chunk.timestamps[-1] / 1000 - time.time()
        if due > 0:
            time.sleep(due)
        yield chunk


def produce_news(config: Config, args: Namespace) -> Publisher:
    """``produce news``: a CSV's texts or built-in headlines, steady or with a negative spike.

    With ``--rate`` the documents are sent live, each stamped with its send time. Without it they
    are a replay of the recent past: event times ``--event-rate`` per second, ending now, sent as
    fast as Kafka takes them.
    """
    import numpy as np

    from sentiment.news import news_chunks, read_entities, read_news_csv, spike_scenario, steady_scenario

    check_reachable(config)
    ensure_topics(config, [config.topics.news])
    entities = read_entities(Path(config.sentiment.entities_file))
    pool = read_news_csv(Path(args.source)) if args.source else None
    count = args.count or (len(pool) if pool is not None and args.scenario == "steady" else 3000)
    event_rate = args.rate or args.event_rate
    now_ms = int(time.time() * 1000)
    start_ms = now_ms if args.rate else now_ms - int(count * 1000 / event_rate)
    if args.scenario == "spike":
        plan = spike_scenario(entities, count, args.seed, event_rate, start_ms, config.sentiment.window_s, pool=pool)
    else:
        plan = steady_scenario(entities, count, args.seed, event_rate, start_ms, pool=pool)
    # Live: a chunk a second, each sent when due; a replay: large chunks, as fast as possible.
    chunk_size = max(1, int(args.rate)) if args.rate else 1000
    chunks = news_chunks(plan.documents, config.topics.news.name, plan.times_ms, seed=args.seed, chunk_size=chunk_size)
    if args.rate:
        chunks = _hold_until_due(chunks)
    publisher = publish(config, chunks, args.rate, len(plan.documents), "documents", config.topics.news.name)
    if plan.burst_entity:
        burst = plan.documents["entity"].eq(plan.burst_entity) & plan.documents["label"].eq("negative")
        first = iso_strings(np.array([plan.times_ms[burst.to_numpy()].min()]))[0]
        print(f"spike: negative news about {plan.burst_entity} from {first} "
              f"({int(burst.sum())} negative documents about it in all)")
    return publisher
