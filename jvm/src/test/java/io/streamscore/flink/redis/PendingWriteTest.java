package io.streamscore.flink.redis;

import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PendingWriteTest {

    private final PendingWrite.Serializer serializer = new PendingWrite.Serializer();

    @Test
    void aPendingWriteSurvivesItsCheckpointByteForByte() throws IOException {
        PendingWrite write = new PendingWrite("fraud:customer:42", 1_700_000_000_000L, 17,
                new String[] {"1700000000000", "17", "0", "score", "0.93", "event_time", "2018-04-01T00:00:31Z", "é✓"});
        PendingWrite restored = serializer.deserialize(serializer.getVersion(), serializer.serialize(write));
        assertEquals(write.key(), restored.key());
        assertEquals(write.version(), restored.version());
        assertEquals(write.version2(), restored.version2());
        assertArrayEquals(write.arguments(), restored.arguments());
    }

    @Test
    void anUnknownStateVersionIsRefused() {
        assertThrows(IOException.class, () -> serializer.deserialize(2, new byte[0]));
    }

    @Test
    void aWriteSupersedesOnlyOlderVersions() {
        PendingWrite older = new PendingWrite("k", 10, 5, new String[0]);
        assertTrue(new PendingWrite("k", 11, 0, new String[0]).supersedes(older));
        assertTrue(new PendingWrite("k", 10, 6, new String[0]).supersedes(older));
        assertFalse(new PendingWrite("k", 10, 5, new String[0]).supersedes(older));
        assertFalse(new PendingWrite("k", 9, 99, new String[0]).supersedes(older));
    }
}
