package io.streamscore.flink.kafka;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkOutputMultiplexer;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.util.clock.ManualClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two splits of one source subtask and the reader's main output, combined as Flink's source
 * operator combines them: the splits through its multiplexer, the subtask idle only when both the
 * splits and the main output are.
 */
class SplitIdlenessTest {

    private static final long TIMEOUT_S = 60;
    private static final long BOUND_MS = 200;

    private final ManualClock clock = new ManualClock();
    private final Combined combined = new Combined();
    private final WatermarkOutputMultiplexer multiplexer = new WatermarkOutputMultiplexer(combined.splits);
    private final SplitIdleness<Long> idleness =
            new SplitIdleness<>(WatermarkStrategy.forBoundedOutOfOrderness(Duration.ofMillis(BOUND_MS)),
                    Duration.ofSeconds(TIMEOUT_S));
    private final Split a = new Split("a");
    private final Split b = new Split("b");
    private final SplitIdleness.Generator<Long> main = generator();

    @Test
    void aQuietSplitStopsHoldingBackEventTimeAfterTheTimeout() {
        a.record(1_000);
        b.record(1_000);
        emit();
        a.record(5_000);
        emit();
        assertEquals(1_000 - BOUND_MS - 1, combined.watermark);
        for (int i = 1; i <= 5; i++) {
            clock.advanceTime(TIMEOUT_S / 4, TimeUnit.SECONDS);
            a.record(5_000 + i * 1_000);
            emit();
        }
        assertEquals(10_000 - BOUND_MS - 1, combined.watermark);
    }

    @Test
    void whenTrafficResumesAfterEverySplitWentQuietTheFirstSplitCannotRunAhead() {
        a.record(1_000);
        b.record(1_000);
        emit();
        clock.advanceTime(TIMEOUT_S + 1, TimeUnit.SECONDS);
        emit();
        assertTrue(combined.idle(), "every split is quiet: the subtask is idle");

        // A second of the producer's traffic reaches split a before any of b's.
        for (long time = 100_000; time <= 101_000; time += 100) {
            a.record(time);
        }
        emit();
        assertFalse(combined.idle(), "the subtask says at once that it is active: downstream waits for it");
        assertEquals(1_000 - BOUND_MS - 1, combined.watermark, "b holds back event time again");
        b.record(100_000);
        emit();
        assertTrue(100_000 > combined.watermark, "b's record of the same moment is not late");
        assertEquals(1_000 - BOUND_MS - 1, combined.watermark, "the whole subtask was idle: event time waits");
        clock.advanceTime(SplitIdleness.RESUME_HOLD.toMillis(), TimeUnit.MILLISECONDS);
        a.record(101_100);
        b.record(101_000);
        emit();
        assertEquals(101_000 - BOUND_MS - 1, combined.watermark);
    }

    @Test
    void afterTheWholeSubtaskWasIdleItsWatermarkWaitsForTheJobsOtherSubtasks() {
        a.record(1_000);
        b.record(1_000);
        emit();
        clock.advanceTime(TIMEOUT_S + 1, TimeUnit.SECONDS);
        emit();
        a.record(100_000);
        b.record(100_000);
        clock.advanceTime(SplitIdleness.RESUME_HOLD.toMillis() - 100, TimeUnit.MILLISECONDS);
        a.record(104_900);
        b.record(104_900);
        emit();
        assertFalse(combined.idle(), "active at once, so downstream takes it back in");
        assertEquals(1_000 - BOUND_MS - 1, combined.watermark,
                "another subtask's records of the same moment, a few hundred ms behind, would otherwise be behind");
        clock.advanceTime(200, TimeUnit.MILLISECONDS);
        emit();
        assertEquals(104_900 - BOUND_MS - 1, combined.watermark);
    }

    @Test
    void aHeldWatermarkIsReleasedWhenTheSplitsGoIdle() {
        SplitIdleness<Long> shortTimeout = new SplitIdleness<>(
                WatermarkStrategy.forBoundedOutOfOrderness(Duration.ofMillis(BOUND_MS)), Duration.ofSeconds(3));
        WatermarkOutputMultiplexer outputs = new WatermarkOutputMultiplexer(combined.splits);
        outputs.registerNewOutput("c");
        SplitIdleness.Generator<Long> c = shortTimeout.generator(
                WatermarkStrategy.<Long>forBoundedOutOfOrderness(Duration.ofMillis(BOUND_MS)).createWatermarkGenerator(null),
                clock);
        c.onEvent(1_000L, 1_000, outputs.getImmediateOutput("c"));
        c.onPeriodicEmit(outputs.getDeferredOutput("c"));
        outputs.onPeriodicEmit();
        clock.advanceTime(4, TimeUnit.SECONDS);
        c.onPeriodicEmit(outputs.getDeferredOutput("c"));
        outputs.onPeriodicEmit();
        assertTrue(c.idle());
        c.onEvent(100_000L, 100_000, outputs.getImmediateOutput("c"));  // after a quiet spell: held
        c.onPeriodicEmit(outputs.getDeferredOutput("c"));
        outputs.onPeriodicEmit();
        assertEquals(1_000 - BOUND_MS - 1, combined.watermark);
        clock.advanceTime(3_100, TimeUnit.MILLISECONDS);  // quiet again: idle before the hold ends
        c.onPeriodicEmit(outputs.getDeferredOutput("c"));
        outputs.onPeriodicEmit();
        assertTrue(c.idle());
        assertEquals(100_000 - BOUND_MS - 1, combined.watermark, "its last records count");
    }

    @Test
    void aSplitThatStaysQuietAfterTheWakeUpGoesIdleAgainAfterTheTimeout() {
        a.record(1_000);
        b.record(1_000);
        emit();
        clock.advanceTime(TIMEOUT_S + 1, TimeUnit.SECONDS);
        emit();
        a.record(100_000);
        emit();
        assertEquals(1_000 - BOUND_MS - 1, combined.watermark);
        clock.advanceTime(TIMEOUT_S - 1, TimeUnit.SECONDS);
        a.record(120_000);
        emit();
        assertEquals(1_000 - BOUND_MS - 1, combined.watermark, "b is within its timeout");
        clock.advanceTime(2, TimeUnit.SECONDS);
        a.record(121_000);
        emit();
        assertEquals(121_000 - BOUND_MS - 1, combined.watermark);
    }

    @Test
    void aSplitAboutToGoIdleWhenAnotherResumesKeepsHoldingBack() {
        a.record(1_000);
        b.record(1_000);
        emit();
        clock.advanceTime(TIMEOUT_S / 2, TimeUnit.SECONDS);
        b.record(2_000);  // b's timeout runs out half a timeout after a's
        emit();
        clock.advanceTime(TIMEOUT_S / 2 + 1, TimeUnit.SECONDS);
        emit();
        assertTrue(a.generator.idle());
        assertFalse(b.generator.idle());
        a.record(100_000);
        clock.advanceTime(TIMEOUT_S / 2, TimeUnit.SECONDS);
        emit();
        assertFalse(b.generator.idle(), "a's traffic restarted b's timeout");
        assertEquals(2_000 - BOUND_MS - 1, combined.watermark);
        b.record(100_000);
        emit();
        assertEquals(100_000 - BOUND_MS - 1, combined.watermark);
    }

    @Test
    void aSplitQuietSinceLongBeforeStaysIdleWhenAnotherResumes() {
        a.record(1_000);
        b.record(1_000);
        emit();
        clock.advanceTime(TIMEOUT_S + 1, TimeUnit.SECONDS);
        a.record(50_000);  // a has traffic; b went quiet for good (an empty partition)
        emit();
        clock.advanceTime(3 * TIMEOUT_S, TimeUnit.SECONDS);
        emit();
        assertTrue(a.generator.idle() && b.generator.idle());
        a.record(500_000);
        emit();
        assertTrue(b.generator.idle(), "b was quiet long before a's quiet spell");
        clock.advanceTime(SplitIdleness.RESUME_HOLD.toMillis(), TimeUnit.MILLISECONDS);
        a.record(500_100);
        emit();
        assertTrue(b.generator.idle());
        assertEquals(500_100 - BOUND_MS - 1, combined.watermark);
    }

    @Test
    void oneQuietSplitResumingWhileAnotherHasTrafficWakesNoOther() {
        a.record(1_000);
        b.record(1_000);
        emit();
        for (int i = 1; i <= 5; i++) {
            clock.advanceTime(TIMEOUT_S / 4, TimeUnit.SECONDS);
            a.record(1_000 + i * 15_000);
            emit();
        }
        assertTrue(b.generator.idle(), "b went quiet while a had traffic");
        assertEquals(76_000 - BOUND_MS - 1, combined.watermark);
        b.record(76_100);
        a.record(76_500);
        emit();
        assertEquals(76_100 - BOUND_MS - 1, combined.watermark);
        assertFalse(a.generator.idle());
    }

    @Test
    void aSplitWhoseTimeoutRunsOutJustAfterAnotherResumesHoldsBackForAGrace() {
        // A job's first traffic: both splits quiet since their assignment, a's records come 50 ms
        // before b's timeout runs out, b's own a few hundred milliseconds after it.
        clock.advanceTime(TIMEOUT_S * 1000 - 50, TimeUnit.MILLISECONDS);
        a.record(100_000);
        a.record(100_900);
        clock.advanceTime(100, TimeUnit.MILLISECONDS);
        emit();
        assertFalse(b.generator.idle(), "b is within the grace a's resumption gave it");
        assertTrue(combined.watermark < 100_000, "b still holds back event time");
        clock.advanceTime(300, TimeUnit.MILLISECONDS);
        b.record(100_000);
        emit();
        assertEquals(100_000 - BOUND_MS - 1, combined.watermark, "b's first record is not late");
    }

    @Test
    void aSplitThatStaysQuietAfterAGraceGoesIdle() {
        clock.advanceTime(TIMEOUT_S * 1000 - 50, TimeUnit.MILLISECONDS);
        a.record(100_000);
        clock.advanceTime(SplitIdleness.GRACE.toMillis() + 100, TimeUnit.MILLISECONDS);
        a.record(101_000);
        emit();
        assertTrue(b.generator.idle());
        assertEquals(101_000 - BOUND_MS - 1, combined.watermark);
    }

    @Test
    void anEmptySplitBesideOneWithBurstsStaysIdle() {
        a.record(0);
        emit();
        for (int i = 1; i <= 5; i++) {
            clock.advanceTime(TIMEOUT_S * 600, TimeUnit.MILLISECONDS);
            a.record(i * 1_000_000L);
            emit();
            clock.advanceTime(SplitIdleness.GRACE.toMillis() + 100, TimeUnit.MILLISECONDS);
            emit();
        }
        assertTrue(b.generator.idle());
        assertEquals(5_000_000 - BOUND_MS - 1, combined.watermark, "event time follows a's bursts");
    }

    private void emit() {
        a.generator.onPeriodicEmit(a.periodic);
        b.generator.onPeriodicEmit(b.periodic);
        multiplexer.onPeriodicEmit();
        main.onPeriodicEmit(combined.main);
    }

    private SplitIdleness.Generator<Long> generator() {
        return idleness.generator(WatermarkStrategy.<Long>forBoundedOutOfOrderness(Duration.ofMillis(BOUND_MS))
                .createWatermarkGenerator(null), clock);
    }

    private final class Split {
        final SplitIdleness.Generator<Long> generator;
        final WatermarkOutput periodic;
        final WatermarkOutput immediate;

        Split(String id) {
            multiplexer.registerNewOutput(id);
            periodic = multiplexer.getDeferredOutput(id);
            immediate = multiplexer.getImmediateOutput(id);
            generator = generator();
        }

        void record(long time) {
            generator.onEvent(time, time, immediate);
        }
    }

    /** What the subtask sends downstream: the highest watermark so far, idle when splits and main output are. */
    private static final class Combined {
        long watermark = Long.MIN_VALUE;
        final Side splits = new Side();
        final Side main = new Side();

        boolean idle() {
            return splits.idle && main.idle;
        }

        private final class Side implements WatermarkOutput {
            boolean idle = true;

            @Override
            public void emitWatermark(Watermark mark) {
                watermark = Math.max(watermark, mark.getTimestamp());
                idle = false;
            }

            @Override
            public void markIdle() {
                idle = true;
            }

            @Override
            public void markActive() {
                idle = false;
            }
        }
    }
}
