package io.streamscore.flink.kafka;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.kafka.shaded.org.apache.kafka.common.TopicPartition;
import org.apache.flink.streaming.connectors.kafka.config.BoundedMode;
import org.apache.flink.streaming.connectors.kafka.config.StartupMode;
import org.apache.flink.streaming.connectors.kafka.table.KafkaDynamicSource;
import org.apache.flink.streaming.connectors.kafka.table.KafkaDynamicTableFactory;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * {@code 'connector' = 'streamscore-kafka'}: Flink's Kafka SQL connector, with every assigned
 * partition holding back event time from the moment it is assigned.
 *
 * <p>Flink 2.2 registers a partition in the source's watermark only once its first record is
 * read, so on a backlog (a restart after an outage, a job started after data was produced, a
 * labels topic read before the transactions topic) the watermark runs ahead on the partitions
 * read first and the others' events arrive late. Here each partition counts from assignment: until
 * it has data or has been idle for {@code scan.watermark.idle-timeout}, event time waits for it.
 * Options, metadata and watermark push-down are the {@code kafka} connector's.
 */
public class EagerSplitKafkaTableFactory extends KafkaDynamicTableFactory {

    public static final String IDENTIFIER = "streamscore-kafka";

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    protected KafkaDynamicSource createKafkaTableSource(
            DataType physicalDataType,
            DecodingFormat<DeserializationSchema<RowData>> keyDecodingFormat,
            DecodingFormat<DeserializationSchema<RowData>> valueDecodingFormat,
            int[] keyProjection, int[] valueProjection, String keyPrefix, List<String> topics,
            Pattern topicPattern, Properties properties, StartupMode startupMode,
            Map<TopicPartition, Long> specificStartupOffsets, long startupTimestampMillis,
            BoundedMode boundedMode, Map<TopicPartition, Long> specificEndOffsets, long endTimestampMillis,
            String tableIdentifier, Integer parallelism) {
        return new EagerSplitKafkaSource(physicalDataType, keyDecodingFormat, valueDecodingFormat, keyProjection,
                valueProjection, keyPrefix, topics, topicPattern, properties, startupMode, specificStartupOffsets,
                startupTimestampMillis, boundedMode, specificEndOffsets, endTimestampMillis, tableIdentifier,
                parallelism);
    }
}
