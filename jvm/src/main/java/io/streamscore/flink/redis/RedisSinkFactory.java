package io.streamscore.flink.redis;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.flink.table.factories.FactoryUtil;

import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code 'connector' = 'streamscore-redis'}: each row becomes a Redis hash, newest version wins. */
public class RedisSinkFactory implements DynamicTableSinkFactory {

    public static final String IDENTIFIER = "streamscore-redis";
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([A-Za-z0-9_]+)}");

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(RedisSinkOptions.URL, RedisSinkOptions.KEY, RedisSinkOptions.VERSION_FIELDS);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of(RedisSinkOptions.MODE, RedisSinkOptions.TTL, RedisSinkOptions.BATCH_SIZE,
                RedisSinkOptions.FLUSH_INTERVAL, RedisSinkOptions.RETRY_TIMEOUT, RedisSinkOptions.PASSWORD_ENV,
                RedisSinkOptions.USER, RedisSinkOptions.PASSWORD_FILE, RedisSinkOptions.TLS_CA_FILE);
    }

    @Override
    public DynamicTableSink createDynamicTableSink(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validate();
        ReadableConfig options = helper.getOptions();
        List<String> columns = context.getCatalogTable().getResolvedSchema().getColumnNames();
        String key = options.get(RedisSinkOptions.KEY);
        Matcher placeholders = PLACEHOLDER.matcher(key);
        while (placeholders.find()) {
            if (!columns.contains(placeholders.group(1))) {
                throw new ValidationException("key template " + key + " names an unknown column " + placeholders.group(1));
            }
        }
        String[] versionFields = options.get(RedisSinkOptions.VERSION_FIELDS).split("\\s*,\\s*");
        for (String field : versionFields) {
            if (!columns.contains(field)) {
                throw new ValidationException("version-fields names an unknown column " + field);
            }
        }
        if (versionFields.length > 2) {
            throw new ValidationException("version-fields takes one or two columns");
        }
        String mode = options.get(RedisSinkOptions.MODE);
        if (!mode.equals("standalone") && !mode.equals("cluster")) {
            throw new ValidationException("mode must be standalone or cluster, got " + mode);
        }
        RedisSinkOptions.Settings settings = new RedisSinkOptions.Settings(
                options.get(RedisSinkOptions.URL), mode, key, versionFields,
                options.get(RedisSinkOptions.TTL).toSeconds(), options.get(RedisSinkOptions.BATCH_SIZE),
                options.get(RedisSinkOptions.FLUSH_INTERVAL).toMillis(),
                options.get(RedisSinkOptions.RETRY_TIMEOUT).toMillis(),
                options.getOptional(RedisSinkOptions.PASSWORD_ENV).orElse(null),
                options.getOptional(RedisSinkOptions.USER).orElse(null),
                options.getOptional(RedisSinkOptions.PASSWORD_FILE).orElse(null),
                options.getOptional(RedisSinkOptions.TLS_CA_FILE).orElse(null));
        return new RedisDynamicSink(settings, context.getCatalogTable().getResolvedSchema().toPhysicalRowDataType());
    }
}
