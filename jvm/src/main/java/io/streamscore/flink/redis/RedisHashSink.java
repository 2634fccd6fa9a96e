package io.streamscore.flink.redis;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.table.connector.sink.DynamicTableSink.DataStructureConverter;
import org.apache.flink.table.data.RowData;

import java.util.Collection;
import java.util.List;

/**
 * A Sink V2 whose writers batch rows into Redis hashes (see {@link RedisHashWriter}); the writes
 * Redis has not acknowledged at a checkpoint are the writers' state.
 */
public class RedisHashSink implements Sink<RowData>, SupportsWriterState<RowData, PendingWrite> {

    private final RedisSinkOptions.Settings settings;
    private final DataStructureConverter converter;
    private final String[] fieldNames;

    public RedisHashSink(RedisSinkOptions.Settings settings, DataStructureConverter converter, String[] fieldNames) {
        this.settings = settings;
        this.converter = converter;
        this.fieldNames = fieldNames;
    }

    @Override
    public StatefulSinkWriter<RowData, PendingWrite> createWriter(WriterInitContext context) {
        return new RedisHashWriter(settings, converter, fieldNames, context, List.of());
    }

    @Override
    public StatefulSinkWriter<RowData, PendingWrite> restoreWriter(WriterInitContext context,
                                                                   Collection<PendingWrite> recovered) {
        return new RedisHashWriter(settings, converter, fieldNames, context, recovered);
    }

    @Override
    public SimpleVersionedSerializer<PendingWrite> getWriterStateSerializer() {
        return new PendingWrite.Serializer();
    }
}
