package io.streamscore.flink.kafka;

import org.apache.flink.util.clock.RelativeClock;
import org.apache.flink.util.clock.SystemClock;

import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * A source reader's clock that stops while the reader is held back: from the moment it has records
 * for the task (it said so after a poll, or its fetcher delivered some since) until the task polls
 * it again. The task does not poll while backpressure holds it (Redis down, a slow model, Python
 * workers starting after a failover) or during a checkpoint's synchronous part.
 *
 * <p>Idleness is measured on it ({@link SplitIdleness}). On the wall clock, a split whose records
 * wait in the reader while the sinks are blocked would count as quiet and stop holding back event
 * time, and its records would then be late: after a failover under live traffic the restarted job
 * waited for its Python workers with every partition's backlog fetched, two of four partitions went
 * idle, and 29,277 of 75,000 transactions were dead-lettered as late (issue 29). Flink 2.2's own
 * activity clock pauses only for watermark alignment.
 *
 * <p>The reader and the watermark generators meet on the task's thread: Flink creates the
 * reader, then each split's output and its generator, all on that thread, from two separately
 * deserialised objects (the source and the watermark strategy), so the reader leaves its clock in
 * a thread-local for the generators to find. Every call comes from that thread.
 */
final class UnblockedTime implements RelativeClock {

    private static final ThreadLocal<UnblockedTime> OF_THIS_TASK = new ThreadLocal<>();

    private final RelativeClock wall;
    private final BooleanSupplier recordsWaiting;
    private long stoppedNanos;
    private long heldSince = -1;
    private boolean polling;

    /** {@code recordsWaiting}: whether the reader has records the task has not polled yet. */
    UnblockedTime(RelativeClock wall, BooleanSupplier recordsWaiting) {
        this.wall = wall;
        this.recordsWaiting = recordsWaiting;
    }

    /** A clock for the reader being created on this thread, which its generators will use. */
    static UnblockedTime forNewReader(BooleanSupplier recordsWaiting) {
        UnblockedTime clock = new UnblockedTime(SystemClock.getInstance(), recordsWaiting);
        OF_THIS_TASK.set(clock);
        return clock;
    }

    /** The clock of this task's reader, if a reader made one. */
    static Optional<RelativeClock> ofThisTask() {
        return Optional.ofNullable(OF_THIS_TASK.get());
    }

    /** The task polls the reader. */
    void polling() {
        if (heldSince >= 0) {
            stoppedNanos += wall.relativeTimeNanos() - heldSince;
            heldSince = -1;
        }
        polling = true;
    }

    /** The poll is over; {@code more}: the reader said it has more records. */
    void polled(boolean more) {
        polling = false;
        if (more) {
            hold();
        }
    }

    private void hold() {
        if (heldSince < 0) {
            heldSince = wall.relativeTimeNanos();
        }
    }

    @Override
    public long relativeTimeNanos() {
        if (!polling && recordsWaiting.getAsBoolean()) {
            // Delivered by the fetcher after a poll that found nothing, and not polled since.
            hold();
        }
        long now = heldSince >= 0 ? heldSince : wall.relativeTimeNanos();
        return now - stoppedNanos;
    }

    @Override
    public long relativeTimeMillis() {
        return relativeTimeNanos() / 1_000_000;
    }
}
