"""``streamscore bench e2e --job sentiment``: the sentiment job on the local stack, next to bare
ONNX Runtime on the same model and batch size.

1. **Maximum throughput.** A backlog of built-in headlines is produced first; the job drains it.
   The rate is taken between 20% and 80% of the scores, from their append times
   (``sentiment-scores`` uses LogAppendTime), so start-up is not counted.
2. **Bare ONNX Runtime**: the same texts through the serving model's tokenizer and ONNX file in
   one Python loop (batches of the model's batch size, sorted by length, every core for ORT): the
   ceiling for this model on this machine, without Kafka, Flink or Arrow.
3. **Latency**: live traffic (event time = send time) at half the job's maximum; event → score
   (append time − event time) and event → Redis (the sink's write time − event time).

Results: JSON (CONTRACT.md keys) and ``docs/benchmarks/<date>-sentiment.md``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from inference.registry import ModelRegistry
from sentiment.news import news_chunks, read_entities, steady_scenario
from streaming.bench.e2e import (REPORT_DIR, bench_topics, drop_bench, live_chunk_size, live_step, score_times,
                                 send_when_due, steady_rate)
from streaming.bench.machine import machine_info
from streaming.config import Config
from streaming.flink_client import FlinkRest, submit_job
from streaming.producers import Publisher


def bench_e2e_sentiment(config: Config, documents: int = 6000, step_seconds: int = 30) -> dict:
    entities = read_entities(Path(config.sentiment.entities_file))
    backlog = steady_scenario(entities, documents, seed=3, event_rate=50,
                              start_ms=int(time.time() * 1000) - documents * 20)
    flink = _max_throughput(config, backlog)
    bare = bare_onnx_runtime(config, backlog.documents["text"].tolist())
    live = _latency_step(config, entities, 0.5 * flink, step_seconds)
    result = {
        "benchmark": "e2e",
        "job": "sentiment",
        "throughput_eps": round(flink, 1),
        "baseline_eps": round(bare["documents_per_s"], 1),
        "baseline": "bare ONNX Runtime, same model file, tokenizer and batch size, all cores, one process",
        "ratio": round(flink / bare["documents_per_s"], 3),
        "p50_latency_ms": live["latency_ms"]["p50"],
        "p99_latency_ms": live["latency_ms"]["p99"],
        "latency_at_eps": live["offered_eps"],
        "redis_p99_latency_ms": live["redis_latency_ms"]["p99"],
        "peak_rss_mb": live["processes"],
        "live": live,
        "bare": bare,
        "backlog_documents": documents,
        "arrow_batch_size": config.inference.max_batch_size,
        **machine_info(),
    }
    result["report"] = str(write_report(result))
    return result


def _publish(config: Config, plan, rate: float | None = None, chunk_size: int = 200) -> None:
    """Live (``rate`` given), a chunk is sent when its last document is due."""
    chunks = news_chunks(plan.documents, config.topics.news.name, plan.times_ms, seed=0, chunk_size=chunk_size)
    with Publisher(config, rate=rate, progress=False) as publisher:
        if rate:
            send_when_due(publisher, chunks)
        else:
            for chunk in chunks:
                publisher.send(chunk)


def _max_throughput(config: Config, backlog) -> float:
    bench = bench_topics(config, scores="sentiment_scores")
    rest = FlinkRest(bench.flink.rest_url)
    job_id = None
    try:
        _publish(bench, backlog)
        job_id = submit_job(bench, "sentiment")
        times = score_times(bench, len(backlog.documents), quiet_s=30, topic=bench.topics.sentiment_scores.name)
        if len(times) < 0.8 * len(backlog.documents):
            raise RuntimeError(f"only {len(times)} of {len(backlog.documents)} documents were scored")
        return steady_rate(times)
    finally:
        if job_id:
            rest.cancel(job_id)
        drop_bench(bench)


def bare_onnx_runtime(config: Config, texts: list[str], runs: int = 3) -> dict:
    """Documents/s of tokenizer + ``session.run`` alone: median of ``runs`` passes over ``texts``."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    model = ModelRegistry(config.inference.registry_dir).load(config.sentiment.model)
    batch = int(model.metadata.get("best_batch_size", 32))
    tokenizer = Tokenizer.from_file(str(model.path / model.metadata["tokenizer"]))
    tokenizer.enable_truncation(model.metadata["max_length"])
    tokenizer.enable_padding(pad_id=model.metadata.get("pad_id", 0))
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count()
    session = ort.InferenceSession(str(model.file(config.inference.variant)), options,
                                   providers=["CPUExecutionProvider"])
    ordered = sorted(texts, key=len)

    def one_pass() -> float:
        started = time.perf_counter()
        for start in range(0, len(ordered), batch):
            encodings = tokenizer.encode_batch(ordered[start:start + batch])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            session.run(None, {"input_ids": ids, "attention_mask": mask})
        return len(ordered) / (time.perf_counter() - started)

    one_pass()  # warm-up
    rates = [one_pass() for _ in range(runs)]
    return {"documents_per_s": float(np.median(rates)), "runs": [round(r, 1) for r in rates], "batch_size": batch,
            "threads": os.cpu_count(), "model": model.tag, "variant": model.resolve_variant(config.inference.variant)}


def _latency_step(config: Config, entities: dict, rate: float, seconds: int, warmup_s: int = 15) -> dict:
    bench = bench_topics(config, scores="sentiment_scores")
    count = max(1, int(rate * (warmup_s + seconds)))

    def send() -> None:
        plan = steady_scenario(entities, count, seed=4, event_rate=rate, start_ms=int(time.time() * 1000) + 1_000)
        _publish(bench, plan, rate, chunk_size=live_chunk_size(rate))

    return live_step(bench, "sentiment", send, rate, count, seconds, warmup_s)


def write_report(result: dict) -> Path:
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    live, bare = result["live"], result["bare"]
    lines = [f"# End-to-end benchmark: sentiment job, {result['date']}", "",
             f"Machine: {result['cpus']} cores ({result['cpu_model']}), {result['memory_gb']} GB, no GPU; "
             f"model {bare['model']} ({bare['variant']}), batch {bare['batch_size']}, Arrow batches of "
             f"up to {result['arrow_batch_size']:,} headlines.", "",
             f"- Maximum throughput (backlog of {result['backlog_documents']:,} headlines): "
             f"**{result['throughput_eps']:,} documents/s**",
             f"- Bare ONNX Runtime, same model, tokenizer and batch size, {bare['threads']} threads, one process: "
             f"{result['baseline_eps']:,} documents/s (median of {bare['runs']}); ratio **{result['ratio']}**",
             f"- Latency at {live['offered_eps']:,} documents/s (half the maximum): event → score p50 "
             f"{live['latency_ms']['p50']} ms, p99 {live['latency_ms']['p99']} ms; event → Redis p99 "
             f"{live['redis_latency_ms']['p99']} ms ({live['scored']:,} of {live['sent']:,} scored)", "",
             "Per process during the latency step (peak RSS MB, CPU cores):", ""]
    lines += [f"- {name}: {p['peak_rss_mb']} MB, {p.get('cpu_cores', '-')} cores" for name, p in live["processes"].items()]
    lines += ["", "Reproduce: `streamscore bench e2e --job sentiment --json`", "",
              "```json", json.dumps({k: v for k, v in result.items() if k not in ("live", "peak_rss_mb")}, indent=2),
              "```", ""]
    path = REPORT_DIR / f"{result['date']}-sentiment.md"
    path.write_text("\n".join(lines))
    return path
