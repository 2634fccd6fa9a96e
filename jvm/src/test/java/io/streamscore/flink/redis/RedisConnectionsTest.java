package io.streamscore.flink.redis;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.HostAndPort;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RedisConnectionsTest {

    @Test
    void passwordFileIsReadByteForByteLikeThePythonClients(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("redis.password");
        Files.writeString(file, "s3cret Value_42");
        assertEquals("s3cret Value_42", RedisConnections.readSecret(file));
    }

    @Test
    void unreadablePasswordFileNamesTheFileOnly(@TempDir Path dir) {
        UncheckedIOException error = assertThrows(UncheckedIOException.class,
                () -> RedisConnections.readSecret(dir.resolve("absent")));
        assertEquals("cannot read the Redis password file " + dir.resolve("absent"), error.getMessage());
    }

    @Test
    void caFileWithoutCertificatesIsRefused(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("ca.pem");
        Files.writeString(file, "not a certificate\n");
        RuntimeException error = assertThrows(RuntimeException.class, () -> RedisConnections.trusting(file));
        assertFalse(error.getMessage().isEmpty());
    }

    @Test
    void urlPasswordIsRedactedInMessages() {
        assertEquals("rediss://svc:***@127.0.0.1:6380/0", RedisConnections.redact("rediss://svc:pw@127.0.0.1:6380/0"));
    }

    @Test
    void aClusterReconnectIsSeededWithTheUrlNodeThenTheNodesSeenBefore() {
        HostAndPort urlNode = new HostAndPort("127.0.0.1", 7001);
        HostAndPort other = new HostAndPort("127.0.0.1", 7002);
        assertEquals(List.of(urlNode, other),
                List.copyOf(RedisConnections.seeds(urlNode, new LinkedHashSet<>(List.of(other, urlNode)))));
        assertEquals(List.of(urlNode), List.copyOf(RedisConnections.seeds(urlNode, java.util.Set.of())));
    }
}
