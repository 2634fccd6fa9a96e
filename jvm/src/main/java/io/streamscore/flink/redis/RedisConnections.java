package io.streamscore.flink.redis;

import redis.clients.jedis.Connection;
import redis.clients.jedis.ConnectionPool;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisCluster;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.UnifiedJedis;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/** Connections to a standalone Redis or a Redis Cluster from the sink's URL and settings. */
final class RedisConnections {

    private RedisConnections() {}

    static UnifiedJedis open(RedisSinkOptions.Settings settings) {
        return open(settings, Set.of());
    }

    /**
     * Connects to the URL's server; for a cluster, it and the {@code knownNodes} an earlier
     * connection saw are the seeds, so a reconnect finds the cluster even while the URL's node
     * is down (a failed master whose replica took over).
     */
    static UnifiedJedis open(RedisSinkOptions.Settings settings, Set<HostAndPort> knownNodes) {
        URI uri = URI.create(settings.url());
        JedisClientConfig config = clientConfig(uri, settings);
        HostAndPort node = new HostAndPort(uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort());
        if (settings.mode().equals("cluster")) {
            return new JedisCluster(seeds(node, knownNodes), config);
        }
        return new JedisPooled(node, config);
    }

    /** The URL's node first, then the known ones. */
    static Set<HostAndPort> seeds(HostAndPort urlNode, Set<HostAndPort> knownNodes) {
        Set<HostAndPort> seeds = new LinkedHashSet<>();
        seeds.add(urlNode);
        seeds.addAll(knownNodes);
        return seeds;
    }

    /** The nodes (masters and replicas) in a cluster connection's slot map; none for a server. */
    static Set<HostAndPort> nodesOf(UnifiedJedis redis) {
        if (redis instanceof JedisCluster cluster) {
            Set<HostAndPort> nodes = new LinkedHashSet<>();
            for (String node : cluster.getClusterNodes().keySet()) {
                nodes.add(HostAndPort.from(node));
            }
            return nodes;
        }
        return Set.of();
    }

    private static JedisClientConfig clientConfig(URI uri, RedisSinkOptions.Settings settings) {
        boolean tls = "rediss".equals(uri.getScheme());
        DefaultJedisClientConfig.Builder builder = DefaultJedisClientConfig.builder()
                .ssl(tls)
                .connectionTimeoutMillis(5_000)
                .socketTimeoutMillis(10_000);
        if (tls) {
            // Jedis checks no hostname by default: without this any certificate the CA signed
            // for another host would pass.
            SSLParameters parameters = new SSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            builder.sslParameters(parameters);
            if (settings.tlsCaFile() != null) {
                builder.sslSocketFactory(trusting(Path.of(settings.tlsCaFile())));
            }
        }
        String userInfo = uri.getUserInfo();
        String password = settings.passwordFile() != null ? readSecret(Path.of(settings.passwordFile()))
                : settings.passwordEnv() == null ? null : System.getenv(settings.passwordEnv());
        if (userInfo != null) {
            String[] parts = userInfo.split(":", 2);
            if (!parts[0].isEmpty()) {
                builder.user(parts[0]);
            }
            if (parts.length > 1 && password == null) {
                password = parts[1];
            }
        }
        if (settings.user() != null) {
            builder.user(settings.user());
        }
        if (password != null) {
            builder.password(password);
        }
        String path = uri.getPath();
        if (!settings.mode().equals("cluster") && path != null && path.length() > 1) {
            builder.database(Integer.parseInt(path.substring(1)));
        }
        return builder.build();
    }

    /** The secret file's content, byte for byte (as the Python clients read it). */
    static String readSecret(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            // The message names the file, never its content.
            throw new UncheckedIOException("cannot read the Redis password file " + file, e);
        }
    }

    /** TLS that trusts exactly the CA certificates of a PEM file. */
    static SSLSocketFactory trusting(Path caFile) {
        try (InputStream in = Files.newInputStream(caFile)) {
            KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
            trusted.load(null, null);
            int index = 0;
            for (Certificate certificate : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trusted.setCertificateEntry("ca-" + index++, certificate);
            }
            if (index == 0) {
                throw new IllegalArgumentException("no certificate in the Redis CA file " + caFile);
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trusted);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context.getSocketFactory();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the Redis CA file " + caFile, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the Redis CA file " + caFile + " holds no usable certificate", e);
        }
    }

    /**
     * Loads the script where the keys live: the server, or every node of the cluster's slot map
     * (replicas too, so a replica promoted after a failover has it). A node that lost its cache
     * (restarted, or SCRIPT FLUSH) answers NOSCRIPT; the writer then reconnects, which loads the
     * script everywhere again.
     */
    static String loadScript(UnifiedJedis redis, RedisSinkOptions.Settings settings, String script) {
        if (redis instanceof JedisCluster cluster) {
            String sha = null;
            for (Map.Entry<String, ConnectionPool> node : cluster.getClusterNodes().entrySet()) {
                try (Connection connection = node.getValue().getResource(); Jedis jedis = new Jedis(connection)) {
                    sha = jedis.scriptLoad(script);
                }
            }
            return sha;
        }
        try (Jedis jedis = new Jedis(((JedisPooled) redis).getPool().getResource())) {
            return jedis.scriptLoad(script);
        }
    }

    /** The URL without its password, for messages. */
    static String redact(String url) {
        return url.replaceAll("//([^:/@]*):[^@]*@", "//$1:***@");
    }
}
