package io.streamscore.flink.kafka;

import org.apache.flink.api.common.eventtime.TimestampAssigner;
import org.apache.flink.api.common.eventtime.TimestampAssignerSupplier;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkGeneratorSupplier;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.util.clock.RelativeClock;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-split idleness whose splits wake up together: a split without records for the timeout stops
 * holding back event time; when one of them has records again, the splits that went quiet in the
 * same quiet spell hold it back again (and those still active restart their timeout), each until
 * it has records or has been quiet for the timeout once more.
 *
 * <p>Why not {@link WatermarkStrategy#withIdleness}: when traffic resumes after a quiet period,
 * the splits' records reach the reader one fetch at a time. Flink's idleness lets the first split
 * with records drive the subtask's watermark alone while the others are still marked idle, so it
 * jumps up to a second ahead (the producer's batch) and the other partitions' records of the same
 * moment arrive behind it: valid events dead-lettered as late (measured: 675 of 25,000 live
 * transactions after 75 s without traffic, docs/delivery-guarantees.md). The same happens when
 * traffic resumes just as the splits' timeouts run out, some before the others.
 *
 * <p>The same quiet spell: a split that went idle no more than one timeout before the resuming
 * one. A split idle for longer (an empty partition, a topic with rare events) stays idle, or it
 * would hold back event time after every burst of the others. Waking costs at most one timeout of
 * waiting for a split that stays quiet, as at a job's start.
 *
 * <p>A split that resumes after half a timeout or more of quiet, before it went idle, gives the
 * others of its quiet spell a short grace ({@link #GRACE}) before they may go idle: when traffic
 * starts just as the timeouts run out, the first split's records can arrive a few milliseconds
 * before the others' timeouts end, and the others' records a few hundred after (measured on a
 * job's first traffic, 3-s timeout: 405 and 295 records of two partitions were late). A grace, not
 * a full timeout, so that an empty partition beside one with bursts still goes idle.
 *
 * <p>When traffic resumes after the whole subtask was idle, its watermark stays where it was for
 * {@link #RESUME_HOLD} (at most the timeout; a split going idle releases it). Downstream operators left the idle subtask out of their watermark, and
 * Flink takes a subtask back in only once its watermark has caught up: if this subtask ran ahead
 * before the job's other source subtasks had records again (their fetches come a few hundred
 * milliseconds apart after a broker restart), their records would reach the keyed feature stages
 * behind the watermark and be taken in out of order (measured: the 1-day counts of 964 of 75,000
 * transactions off by one). The hold gives them the time to announce themselves active.
 *
 * <p>Quiet means quiet while the reader could take records: the time is the reader's
 * {@link UnblockedTime}, which stops while backpressure holds the reader.
 *
 * <p>One instance per source subtask holds its splits' generators: Flink deserialises the
 * strategy once per task, and every split's generator (and the reader's main one) comes from it.
 */
final class SplitIdleness<T> implements WatermarkStrategy<T> {

    private static final long serialVersionUID = 1L;
    /** Long enough for the other partitions' records of the same moment to reach the reader (a few fetches). */
    static final Duration GRACE = Duration.ofSeconds(2);
    /** Long enough for the job's other source subtasks to have records again after a quiet spell. */
    static final Duration RESUME_HOLD = Duration.ofSeconds(5);

    private final WatermarkStrategy<T> watermarks;
    private final long timeoutNanos;
    private transient List<Generator<T>> generators;

    SplitIdleness(WatermarkStrategy<T> watermarks, Duration timeout) {
        this.watermarks = watermarks;
        this.timeoutNanos = timeout.toNanos();
    }

    @Override
    public TimestampAssigner<T> createTimestampAssigner(TimestampAssignerSupplier.Context context) {
        return watermarks.createTimestampAssigner(context);
    }

    @Override
    public WatermarkGenerator<T> createWatermarkGenerator(WatermarkGeneratorSupplier.Context context) {
        RelativeClock clock = UnblockedTime.ofThisTask().orElseGet(context::getInputActivityClock);
        return generator(watermarks.createWatermarkGenerator(context), clock);
    }

    /** A generator among this subtask's others (the seam the unit tests use). */
    synchronized Generator<T> generator(WatermarkGenerator<T> inner, RelativeClock clock) {
        if (generators == null) {
            generators = new ArrayList<>();
        }
        Generator<T> generator = new Generator<>(inner, clock, timeoutNanos, this);
        generators.add(generator);
        return generator;
    }

    /**
     * {@code resumed} has records again after a quiet spell: if it had gone idle, wake the splits of
     * its spell; if not, give them a grace before they may go idle.
     */
    private void resumed(Generator<T> resumed, long now) {
        if (resumed.idle) {
            boolean subtaskIdle = generators.stream().allMatch(generator -> generator.idle);
            long spell = resumed.idleSince - timeoutNanos;
            for (Generator<T> generator : generators) {
                if (!generator.idle || generator.idleSince >= spell) {
                    generator.wake();
                }
                if (subtaskIdle) {
                    generator.watermarkHeldUntil = now + Math.min(RESUME_HOLD.toNanos(), timeoutNanos);
                }
            }
        } else {
            long spell = resumed.lastActive - timeoutNanos;
            long grace = Math.min(GRACE.toNanos(), timeoutNanos / 2);
            for (Generator<T> generator : generators) {
                if (generator != resumed && generator.lastActive >= spell) {
                    generator.holdBackUntil(now + grace);
                }
            }
        }
    }

    static final class Generator<T> implements WatermarkGenerator<T> {
        private final WatermarkGenerator<T> watermarks;
        private final RelativeClock clock;
        private final long timeoutNanos;
        private final SplitIdleness<T> splits;
        private long lastActive;
        private boolean idle;
        /** When it went idle (the clock's nanoseconds), while {@code idle}. */
        private long idleSince;
        private boolean woken;
        /** It does not go idle before this (a grace from another split's resumption). */
        private long holdBackUntil = Long.MIN_VALUE;
        /** Its watermark does not advance before this (the subtask resumed after a quiet spell). */
        private long watermarkHeldUntil = Long.MIN_VALUE;

        private Generator(WatermarkGenerator<T> watermarks, RelativeClock clock, long timeoutNanos,
                          SplitIdleness<T> splits) {
            this.watermarks = watermarks;
            this.clock = clock;
            this.timeoutNanos = timeoutNanos;
            this.splits = splits;
            this.lastActive = clock.relativeTimeNanos();
        }

        @Override
        public void onEvent(T event, long eventTimestamp, WatermarkOutput output) {
            long now = clock.relativeTimeNanos();
            if (idle || now - lastActive >= timeoutNanos / 2) {
                splits.resumed(this, now);
            }
            lastActive = now;
            watermarks.onEvent(event, eventTimestamp, output);
        }

        @Override
        public void onPeriodicEmit(WatermarkOutput output) {
            if (woken) {
                // Back in the combined watermark with the watermark it had: event time waits for it.
                woken = false;
                output.markActive();
            }
            long now = clock.relativeTimeNanos();
            if (!idle && now - lastActive > timeoutNanos && now >= holdBackUntil) {
                idle = true;
                // When its timeout ran out, even if a grace kept it a little longer.
                idleSince = lastActive + timeoutNanos;
                // Its records count before it stops holding back event time, even if its watermark
                // was held: with every split idle, downstream would otherwise wait for the next traffic.
                watermarks.onPeriodicEmit(output);
            }
            if (idle) {
                output.markIdle();
            } else if (now >= watermarkHeldUntil) {
                watermarks.onPeriodicEmit(output);
            }
        }

        /** Holds back event time again (if idle), for a full timeout from now. */
        private void wake() {
            if (idle) {
                idle = false;
                woken = true;
            }
            lastActive = clock.relativeTimeNanos();
        }

        /** Holds back event time again (if idle) until {@code deadline} at least. */
        private void holdBackUntil(long deadline) {
            if (idle) {
                idle = false;
                woken = true;
            }
            holdBackUntil = Math.max(holdBackUntil, deadline);
        }

        boolean idle() {
            return idle;
        }
    }
}
