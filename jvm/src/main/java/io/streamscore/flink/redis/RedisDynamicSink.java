package io.streamscore.flink.redis;

import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.SinkV2Provider;
import org.apache.flink.table.types.DataType;

/** The planner's view of the Redis hash sink: insert-only rows, written by {@link RedisHashSink}. */
public class RedisDynamicSink implements DynamicTableSink {

    private final RedisSinkOptions.Settings settings;
    private final DataType rowType;

    public RedisDynamicSink(RedisSinkOptions.Settings settings, DataType rowType) {
        this.settings = settings;
        this.rowType = rowType;
    }

    @Override
    public ChangelogMode getChangelogMode(ChangelogMode requestedMode) {
        return ChangelogMode.insertOnly();
    }

    @Override
    public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
        return SinkV2Provider.of(new RedisHashSink(settings, context.createDataStructureConverter(rowType),
                DataType.getFieldNames(rowType).toArray(new String[0])));
    }

    @Override
    public DynamicTableSink copy() {
        return new RedisDynamicSink(settings, rowType);
    }

    @Override
    public String asSummaryString() {
        return "streamscore-redis(" + settings.keyTemplate() + ")";
    }
}
