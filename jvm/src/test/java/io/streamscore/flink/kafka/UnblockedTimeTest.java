package io.streamscore.flink.kafka;

import org.apache.flink.util.clock.ManualClock;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

class UnblockedTimeTest {

    private final ManualClock wall = new ManualClock();
    private final UnblockedTime clock = new UnblockedTime(wall);

    @Test
    void timeStandsStillWhileTheReaderIsHeldBack() {
        wall.advanceTime(5, TimeUnit.SECONDS);
        clock.held();
        wall.advanceTime(30, TimeUnit.SECONDS);
        assertEquals(5_000, clock.relativeTimeMillis());
        clock.polled();
        wall.advanceTime(2, TimeUnit.SECONDS);
        assertEquals(7_000, clock.relativeTimeMillis());
    }

    @Test
    void repeatedSignalsCountOnce() {
        clock.held();
        wall.advanceTime(1, TimeUnit.SECONDS);
        clock.held();
        wall.advanceTime(1, TimeUnit.SECONDS);
        clock.polled();
        clock.polled();
        wall.advanceTime(1, TimeUnit.SECONDS);
        assertEquals(1_000, clock.relativeTimeMillis());
    }
}
