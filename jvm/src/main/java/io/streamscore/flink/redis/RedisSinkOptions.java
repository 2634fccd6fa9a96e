package io.streamscore.flink.redis;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

import java.io.Serializable;
import java.time.Duration;

/** Options of the {@code streamscore-redis} table sink (the {@code WITH} clause). */
public final class RedisSinkOptions {

    public static final ConfigOption<String> URL = ConfigOptions.key("url").stringType().noDefaultValue()
            .withDescription("redis://[user:password@]host:port[/db]; rediss:// for TLS. For a cluster, any node.");
    public static final ConfigOption<String> MODE = ConfigOptions.key("mode").stringType().defaultValue("standalone")
            .withDescription("standalone or cluster");
    public static final ConfigOption<String> KEY = ConfigOptions.key("key").stringType().noDefaultValue()
            .withDescription("Key template with {column} placeholders, e.g. fraud:customer:{customer_id}.");
    public static final ConfigOption<String> VERSION_FIELDS = ConfigOptions.key("version-fields").stringType()
            .noDefaultValue()
            .withDescription("One or two BIGINT columns, compared in order: a write applies only when it is not "
                    + "older than what the key holds, so replays and restarts leave the same final state.");
    public static final ConfigOption<Duration> TTL = ConfigOptions.key("ttl").durationType().defaultValue(Duration.ZERO)
            .withDescription("Expiry of each key after its last write; 0 keeps keys forever.");
    public static final ConfigOption<Integer> BATCH_SIZE = ConfigOptions.key("batch-size").intType().defaultValue(2000)
            .withDescription("Writes sent in one pipeline (of a key, only its newest write in the batch is sent).");
    public static final ConfigOption<Duration> FLUSH_INTERVAL = ConfigOptions.key("flush-interval").durationType()
            .defaultValue(Duration.ofMillis(200)).withDescription("Longest a write waits in the buffer.");
    public static final ConfigOption<Duration> RETRY_TIMEOUT = ConfigOptions.key("retry-timeout").durationType()
            .defaultValue(Duration.ofMinutes(5))
            .withDescription("How long a batch is retried while Redis is unreachable before the job fails over.");
    public static final ConfigOption<String> PASSWORD_ENV = ConfigOptions.key("password-env").stringType()
            .noDefaultValue().withDescription("Environment variable holding the password (never in the DDL).");
    public static final ConfigOption<String> USER = ConfigOptions.key("user").stringType().noDefaultValue()
            .withDescription("ACL user to log in as (overrides the URL's user).");
    public static final ConfigOption<String> PASSWORD_FILE = ConfigOptions.key("password-file").stringType()
            .noDefaultValue().withDescription("File holding the password, read by each writer when it opens; "
                    + "its content is taken byte for byte.");
    public static final ConfigOption<String> TLS_CA_FILE = ConfigOptions.key("tls.ca-file").stringType()
            .noDefaultValue().withDescription("PEM file of the CA certificates that sign the server's certificate "
                    + "(rediss:// URLs; the JVM's default trust store when absent).");

    private RedisSinkOptions() {}

    /** The resolved settings, shipped with the job. */
    public record Settings(String url, String mode, String keyTemplate, String[] versionFields, long ttlSeconds,
                           int batchSize, long flushIntervalMs, long retryTimeoutMs, String passwordEnv,
                           String user, String passwordFile, String tlsCaFile)
            implements Serializable {}
}
