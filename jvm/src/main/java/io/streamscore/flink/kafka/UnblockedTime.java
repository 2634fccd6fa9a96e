package io.streamscore.flink.kafka;

import org.apache.flink.util.clock.RelativeClock;
import org.apache.flink.util.clock.SystemClock;

import java.util.Optional;

/**
 * A source reader's clock that stops while the reader is held back: from the moment it says it
 * has more records until the task polls it again (backpressure, a checkpoint's synchronous part).
 *
 * <p>Idleness is measured on it ({@link SplitIdleness}). On the wall clock, a split whose records
 * wait in the reader behind another split's while the sinks are blocked (Redis down, a slow
 * model) would count as quiet and stop holding back event time, and its records would then be
 * late. Flink 2.2's own activity clock pauses only for watermark alignment.
 *
 * <p>The reader and the watermark generators meet on the task's thread: Flink creates the
 * reader, then each split's output and its generator, all on that thread, from two separately
 * deserialised objects (the source and the watermark strategy), so the reader leaves its clock in
 * a thread-local for the generators to find.
 */
final class UnblockedTime implements RelativeClock {

    private static final ThreadLocal<UnblockedTime> OF_THIS_TASK = new ThreadLocal<>();

    private final RelativeClock wall;
    private long stoppedNanos;
    private long heldSince = -1;

    UnblockedTime(RelativeClock wall) {
        this.wall = wall;
    }

    /** A clock for the reader being created on this thread, which its generators will use. */
    static UnblockedTime forNewReader() {
        UnblockedTime clock = new UnblockedTime(SystemClock.getInstance());
        OF_THIS_TASK.set(clock);
        return clock;
    }

    /** The clock of this task's reader, if a reader made one. */
    static Optional<RelativeClock> ofThisTask() {
        return Optional.ofNullable(OF_THIS_TASK.get());
    }

    /** The reader has more records but is not polled until the task can take them. */
    void held() {
        if (heldSince < 0) {
            heldSince = wall.relativeTimeNanos();
        }
    }

    /** The task polls the reader again. */
    void polled() {
        if (heldSince >= 0) {
            stoppedNanos += wall.relativeTimeNanos() - heldSince;
            heldSince = -1;
        }
    }

    @Override
    public long relativeTimeNanos() {
        long now = heldSince >= 0 ? heldSince : wall.relativeTimeNanos();
        return now - stoppedNanos;
    }

    @Override
    public long relativeTimeMillis() {
        return relativeTimeNanos() / 1_000_000;
    }
}
