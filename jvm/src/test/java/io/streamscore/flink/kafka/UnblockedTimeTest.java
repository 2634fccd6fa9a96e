package io.streamscore.flink.kafka;

import org.apache.flink.util.clock.ManualClock;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;

class UnblockedTimeTest {

    private final ManualClock wall = new ManualClock();
    private final AtomicBoolean recordsWaiting = new AtomicBoolean();
    private final UnblockedTime clock = new UnblockedTime(wall, recordsWaiting::get);

    @Test
    void timeStandsStillFromAPollWithMoreRecordsUntilTheNextPoll() {
        wall.advanceTime(5, TimeUnit.SECONDS);
        clock.polling();
        clock.polled(true);
        wall.advanceTime(30, TimeUnit.SECONDS);
        assertEquals(5_000, clock.relativeTimeMillis());
        clock.polling();
        clock.polled(false);
        wall.advanceTime(2, TimeUnit.SECONDS);
        assertEquals(7_000, clock.relativeTimeMillis());
    }

    @Test
    void timeStandsStillWhileRecordsFetchedAfterAnEmptyPollWaitForTheTask() {
        clock.polling();
        clock.polled(false);
        wall.advanceTime(1, TimeUnit.SECONDS);
        recordsWaiting.set(true);
        assertEquals(1_000, clock.relativeTimeMillis());
        wall.advanceTime(30, TimeUnit.SECONDS);
        assertEquals(1_000, clock.relativeTimeMillis());
        clock.polling();
        recordsWaiting.set(false);
        clock.polled(false);
        wall.advanceTime(2, TimeUnit.SECONDS);
        assertEquals(3_000, clock.relativeTimeMillis());
    }

    @Test
    void timeRunsDuringAPollAndWhileTheReaderHasNothing() {
        clock.polling();
        recordsWaiting.set(true);
        wall.advanceTime(1, TimeUnit.SECONDS);
        assertEquals(1_000, clock.relativeTimeMillis());
        recordsWaiting.set(false);
        clock.polled(false);
        wall.advanceTime(60, TimeUnit.SECONDS);
        assertEquals(61_000, clock.relativeTimeMillis());
    }

    @Test
    void aHoldCountsOnceHoweverOftenItIsSignalled() {
        clock.polled(true);
        wall.advanceTime(1, TimeUnit.SECONDS);
        recordsWaiting.set(true);
        clock.relativeTimeMillis();
        wall.advanceTime(1, TimeUnit.SECONDS);
        clock.polling();
        recordsWaiting.set(false);
        clock.polling();
        clock.polled(false);
        wall.advanceTime(1, TimeUnit.SECONDS);
        assertEquals(1_000, clock.relativeTimeMillis());
    }
}
