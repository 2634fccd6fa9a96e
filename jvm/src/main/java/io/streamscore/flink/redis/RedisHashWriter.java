package io.streamscore.flink.redis;

import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.table.connector.sink.DynamicTableSink.DataStructureConverter;
import org.apache.flink.table.data.RowData;
import org.apache.flink.types.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Buffers rows and writes them to Redis in pipelines, each key through a script that applies a
 * write only when its version is not older than the stored one (atomically, on the server).
 *
 * <p>The buffer is sent when full and every {@code flush-interval}. A checkpoint does not wait for
 * Redis: the writes it has not acknowledged yet (the batch in flight and the buffer) are kept in
 * the checkpoint ({@link #snapshotState}) and sent again after a restore, and a restart replays
 * the rows since the checkpoint; the version check makes both leave the same final state. Waiting
 * instead held every checkpoint's barrier, and the rows behind it, for a Redis round trip or two
 * (docs/performance.md, "Latency, fourth round"). While Redis is unreachable a batch is retried
 * (the job back-pressures) until {@code retry-timeout}.
 *
 * <p>A batch goes out on a sender thread while the task fills the next one: waiting for Redis's
 * replies on the task thread was a quarter of the fraud job's busiest chain (flame graph,
 * docs/performance.md). One batch at a time is in flight, so batches reach Redis in order; the
 * next one waits for it. Only the sender thread touches the connection.
 */
public class RedisHashWriter implements StatefulSinkWriter<RowData, PendingWrite> {

    private static final Logger LOG = LoggerFactory.getLogger(RedisHashWriter.class);
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([A-Za-z0-9_]+)}");
    /**
     * KEYS[1] the hash; ARGV: version, secondary version, ttl seconds, then field/value pairs. An
     * equal version is the same event replayed after a restart: it is skipped, so a replay writes
     * nothing at all (not even {@code _written_ms}).
     */
    static final String NEWER_WINS = String.join("\n",
            "local v = redis.call('HMGET', KEYS[1], '_version', '_version2')",
            "local new, new2 = tonumber(ARGV[1]), tonumber(ARGV[2])",
            "if v[1] then",
            "  local old, old2 = tonumber(v[1]), tonumber(v[2] or '-1')",
            "  if old > new or (old == new and old2 >= new2) then return 0 end",
            "end",
            "local now = redis.call('TIME')",
            "local written = now[1] * 1000 + math.floor(now[2] / 1000)",
            "redis.call('HSET', KEYS[1], '_version', ARGV[1], '_version2', ARGV[2], '_written_ms', written, unpack(ARGV, 4))",
            "if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end",
            "return 1");

    /** What a batch did: how many writes were older than Redis's, and how long the round trip took. */
    private record Sent(int writes, int stale, long latencyMs) {}

    private final RedisSinkOptions.Settings settings;
    private final DataStructureConverter converter;
    private final String[] fieldNames;
    private final int[] keyParts;
    private final String[] keyLiterals;
    private final int[] versionFields;
    private final boolean[] storedField;
    private final ProcessingTimeService timers;
    // By key: of several writes to one key in a batch only the newest can apply, so only it is sent.
    private Map<String, PendingWrite> buffer = new LinkedHashMap<>();
    private int superseded;
    private final ExecutorService sender;
    private Future<Sent> inFlight;
    private List<PendingWrite> inFlightBatch = List.of();
    private final Counter writes;
    private final Counter staleWrites;
    private final Counter writeErrors;
    private final LatencyHistogram batchLatency;
    private UnifiedJedis redis;
    private String scriptSha;
    /** Cluster nodes the last connection saw: seeds of the next one besides the URL's node. */
    private Set<HostAndPort> knownNodes = Set.of();

    RedisHashWriter(RedisSinkOptions.Settings settings, DataStructureConverter converter, String[] fieldNames,
                    WriterInitContext context, Collection<PendingWrite> restored) {
        this.settings = settings;
        this.converter = converter;
        this.fieldNames = fieldNames;
        List<String> names = List.of(fieldNames);
        List<String> literals = new ArrayList<>();
        List<Integer> parts = new ArrayList<>();
        Set<Integer> inKey = new HashSet<>();
        Matcher matcher = PLACEHOLDER.matcher(settings.keyTemplate());
        int last = 0;
        while (matcher.find()) {
            literals.add(settings.keyTemplate().substring(last, matcher.start()));
            int column = names.indexOf(matcher.group(1));
            parts.add(column);
            inKey.add(column);
            last = matcher.end();
        }
        literals.add(settings.keyTemplate().substring(last));
        this.keyLiterals = literals.toArray(new String[0]);
        this.keyParts = parts.stream().mapToInt(Integer::intValue).toArray();
        this.versionFields = java.util.Arrays.stream(settings.versionFields()).mapToInt(names::indexOf).toArray();
        // Key columns are in the key and version columns in _version/_version2; the rest are fields.
        this.storedField = new boolean[fieldNames.length];
        for (int i = 0; i < fieldNames.length; i++) {
            final int column = i;
            storedField[i] = !inKey.contains(i) && java.util.Arrays.stream(versionFields).noneMatch(v -> v == column);
        }
        this.timers = context.getProcessingTimeService();
        MetricGroup metrics = context.metricGroup().addGroup("redis");
        this.writes = metrics.counter("redis_writes");
        this.staleWrites = metrics.counter("redis_stale_writes_skipped");
        this.writeErrors = metrics.counter("redis_write_errors");
        this.batchLatency = metrics.histogram("redis_batch_latency_ms", new LatencyHistogram(1024));
        converter.open(org.apache.flink.table.connector.RuntimeConverter.Context.create(getClass().getClassLoader()));
        this.sender = Executors.newSingleThreadExecutor(task -> {
            Thread thread = new Thread(task, "redis-sink-sender " + settings.keyTemplate());
            thread.setDaemon(true);
            return thread;
        });
        restored.forEach(this::buffer);
        scheduleFlush();
    }

    private void scheduleFlush() {
        timers.registerTimer(timers.getCurrentProcessingTime() + settings.flushIntervalMs(), time -> {
            if (!buffer.isEmpty()) {
                send();
            }
            scheduleFlush();
        });
    }

    @Override
    public void write(RowData element, Context context) throws IOException {
        Row row = (Row) converter.toExternal(element);
        StringBuilder key = new StringBuilder(keyLiterals[0]);
        for (int i = 0; i < keyParts.length; i++) {
            key.append(row.getField(keyParts[i])).append(keyLiterals[i + 1]);
        }
        long version = ((Number) row.getField(versionFields[0])).longValue();
        long version2 = versionFields.length > 1 ? ((Number) row.getField(versionFields[1])).longValue() : 0;
        List<String> arguments = new ArrayList<>(3 + 2 * fieldNames.length);
        arguments.add(String.valueOf(version));
        arguments.add(String.valueOf(version2));
        arguments.add(String.valueOf(settings.ttlSeconds()));
        for (int i = 0; i < fieldNames.length; i++) {
            Object value = row.getField(i);
            if (storedField[i] && value != null) {
                arguments.add(fieldNames[i]);
                arguments.add(value.toString());
            }
        }
        buffer(new PendingWrite(key.toString(), version, version2, arguments.toArray(new String[0])));
        if (buffer.size() >= settings.batchSize()) {
            send();
        }
    }

    private void buffer(PendingWrite write) {
        PendingWrite earlier = buffer.get(write.key());
        if (earlier == null || write.supersedes(earlier)) {
            buffer.put(write.key(), write);
        }
        if (earlier != null) {
            superseded++;
        }
    }

    /** Only at the end of the input: before a checkpoint, {@link #snapshotState} keeps what is pending. */
    @Override
    public void flush(boolean endOfInput) throws IOException {
        if (!endOfInput) {
            return;
        }
        if (!buffer.isEmpty()) {
            send();
        }
        awaitInFlight();
    }

    /** The writes Redis has not acknowledged: the batch in flight (unless done) and the buffer. */
    @Override
    public List<PendingWrite> snapshotState(long checkpointId) throws IOException {
        List<PendingWrite> pending = new ArrayList<>(buffer.size() + inFlightBatch.size());
        if (inFlight != null && !inFlight.isDone()) {
            pending.addAll(inFlightBatch);
        } else {
            // A finished batch may have failed: that fails this checkpoint rather than losing it.
            awaitInFlight();
        }
        pending.addAll(buffer.values());
        return pending;
    }

    /** Hands the buffer to the sender thread, once the batch before it is written. */
    private void send() throws IOException {
        awaitInFlight();
        List<PendingWrite> batch = new ArrayList<>(buffer.values());
        buffer = new LinkedHashMap<>();
        staleWrites.inc(superseded);
        superseded = 0;
        inFlightBatch = batch;
        inFlight = sender.submit(() -> sendWithRetries(batch));
    }

    private void awaitInFlight() throws IOException {
        if (inFlight == null) {
            return;
        }
        Sent sent;
        try {
            sent = inFlight.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for a Redis batch", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException("a Redis batch failed", e.getCause());
        } finally {
            inFlight = null;
            inFlightBatch = List.of();
        }
        batchLatency.update(sent.latencyMs());
        writes.inc(sent.writes() - sent.stale());
        staleWrites.inc(sent.stale());
    }

    /** On the sender thread: one batch, retried while Redis refuses it, until the retry timeout. */
    private Sent sendWithRetries(List<PendingWrite> batch) throws IOException {
        long deadline = System.currentTimeMillis() + settings.retryTimeoutMs();
        long backoff = 100;
        while (true) {
            try {
                long started = System.nanoTime();
                int stale = pipeline(batch);
                return new Sent(batch.size(), stale, (System.nanoTime() - started) / 1_000_000);
            } catch (JedisException e) {
                writeErrors.inc();
                closeConnection();
                if (System.currentTimeMillis() > deadline) {
                    throw new IOException("Redis at " + RedisConnections.redact(settings.url())
                            + " refused writes for " + settings.retryTimeoutMs() / 1000 + " s", e);
                }
                LOG.warn("Redis write failed ({}), retrying in {} ms", e.getMessage(), backoff);
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while retrying Redis writes", interrupted);
                }
                backoff = Math.min(backoff * 2, 5_000);
            }
        }
    }

    /** Sends the writes in one pipeline; returns how many were older than what Redis holds. */
    private int pipeline(List<PendingWrite> batch) {
        if (redis == null) {
            redis = RedisConnections.open(settings, knownNodes);
            scriptSha = RedisConnections.loadScript(redis, settings, NEWER_WINS);
        }
        List<Response<Object>> results = new ArrayList<>(batch.size());
        try (AbstractPipeline pipeline = redis.pipelined()) {
            for (PendingWrite write : batch) {
                results.add(pipeline.evalsha(scriptSha, List.of(write.key()), List.of(write.arguments())));
            }
            pipeline.sync();
        }
        int stale = 0;
        for (Response<Object> result : results) {
            try {
                if (Long.valueOf(0).equals(result.get())) {
                    stale++;
                }
            } catch (JedisDataException e) {
                // NOSCRIPT: a server restarted without its script cache. MOVED or ASK: a cluster
                // moved the key's slot (failover, resharding). Either way the retry reconnects,
                // which reads the slot map afresh and loads the script on every node; the writes
                // of this batch that were applied are skipped by the version check.
                closeConnection();
                throw e;
            } catch (IllegalStateException e) {
                // A cluster pipeline logs a node's broken connection and leaves that node's
                // replies unset: retry like any connection failure, rather than fail the job.
                closeConnection();
                throw new JedisConnectionException("a Redis Cluster node did not answer the pipeline", e);
            }
        }
        return stale;
    }

    private void closeConnection() {
        if (redis != null) {
            try {
                Set<HostAndPort> nodes = RedisConnections.nodesOf(redis);
                if (!nodes.isEmpty()) {
                    knownNodes = nodes;
                }
            } catch (RuntimeException ignored) {
                // The URL's node is a seed anyway.
            }
            try {
                redis.close();
            } catch (RuntimeException ignored) {
                // The connection is being replaced anyway.
            }
            redis = null;
        }
    }

    @Override
    public void close() {
        sender.shutdownNow();
        try {
            if (!sender.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("the Redis sender thread did not stop within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeConnection();
    }
}
