package io.streamscore.flink.redis;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.table.connector.sink.DynamicTableSink.DataStructureConverter;
import org.apache.flink.table.data.RowData;

/** A Sink V2 whose writers batch rows into Redis hashes (see {@link RedisHashWriter}). */
public class RedisHashSink implements Sink<RowData> {

    private final RedisSinkOptions.Settings settings;
    private final DataStructureConverter converter;
    private final String[] fieldNames;

    public RedisHashSink(RedisSinkOptions.Settings settings, DataStructureConverter converter, String[] fieldNames) {
        this.settings = settings;
        this.converter = converter;
        this.fieldNames = fieldNames;
    }

    @Override
    public SinkWriter<RowData> createWriter(WriterInitContext context) {
        return new RedisHashWriter(settings, converter, fieldNames, context);
    }
}
