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
 * <p>Quiet means quiet while the reader could take records: the time is the reader's
 * {@link UnblockedTime}, which stops while backpressure holds the reader.
 *
 * <p>One instance per source subtask holds its splits' generators: Flink deserialises the
 * strategy once per task, and every split's generator (and the reader's main one) comes from it.
 */
final class SplitIdleness<T> implements WatermarkStrategy<T> {

    private static final long serialVersionUID = 1L;

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

    /** {@code resumed} has records again after going quiet: wake the splits of its quiet spell. */
    private void resumed(Generator<T> resumed) {
        long spell = resumed.idleSince - timeoutNanos;
        for (Generator<T> generator : generators) {
            if (!generator.idle || generator.idleSince >= spell) {
                generator.wake();
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
            if (idle) {
                splits.resumed(this);
            }
            lastActive = clock.relativeTimeNanos();
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
            if (!idle && now - lastActive > timeoutNanos) {
                idle = true;
                idleSince = now;
            }
            if (idle) {
                output.markIdle();
            } else {
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

        boolean idle() {
            return idle;
        }
    }
}
