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

import java.net.URI;
import java.util.Map;
import java.util.Set;

/** Connections to a standalone Redis or a Redis Cluster from the sink's URL and settings. */
final class RedisConnections {

    private RedisConnections() {}

    static UnifiedJedis open(RedisSinkOptions.Settings settings) {
        URI uri = URI.create(settings.url());
        JedisClientConfig config = clientConfig(uri, settings);
        HostAndPort node = new HostAndPort(uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort());
        if (settings.mode().equals("cluster")) {
            return new JedisCluster(Set.of(node), config);
        }
        return new JedisPooled(node, config);
    }

    private static JedisClientConfig clientConfig(URI uri, RedisSinkOptions.Settings settings) {
        DefaultJedisClientConfig.Builder builder = DefaultJedisClientConfig.builder()
                .ssl("rediss".equals(uri.getScheme()))
                .connectionTimeoutMillis(5_000)
                .socketTimeoutMillis(10_000);
        String userInfo = uri.getUserInfo();
        String password = settings.passwordEnv() == null ? null : System.getenv(settings.passwordEnv());
        if (userInfo != null) {
            String[] parts = userInfo.split(":", 2);
            if (!parts[0].isEmpty()) {
                builder.user(parts[0]);
            }
            if (parts.length > 1 && password == null) {
                password = parts[1];
            }
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

    /** Loads the script where the keys live: the server, or every cluster node. */
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
