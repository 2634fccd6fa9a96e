package io.streamscore.flink.kafka;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.kafka.shaded.org.apache.kafka.common.TopicPartition;
import org.apache.flink.streaming.connectors.kafka.config.BoundedMode;
import org.apache.flink.streaming.connectors.kafka.config.StartupMode;
import org.apache.flink.streaming.connectors.kafka.table.KafkaDynamicSource;
import org.apache.flink.streaming.connectors.kafka.table.KafkaDynamicTableFactory;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code 'connector' = 'streamscore-kafka'}: Flink's Kafka SQL connector, with every assigned
 * partition holding back event time from the moment it is assigned.
 *
 * <p>Flink 2.2 registers a partition in the source's watermark only once its first record is
 * read, so on a backlog (a restart after an outage, a job started after data was produced, a
 * labels topic read before the transactions topic) the watermark runs ahead on the partitions
 * read first and the others' events arrive late. Here each partition counts from assignment: until
 * it has data or has been idle for {@code partition.idle-timeout}, event time waits for it.
 * Options, metadata and watermark push-down are the {@code kafka} connector's, and
 * {@code partition.idle-timeout} replaces {@code scan.watermark.idle-timeout}: a quiet partition
 * stops holding back event time after it, and all of a subtask's partitions start again together
 * ({@link SplitIdleness}).
 */
public class EagerSplitKafkaTableFactory extends KafkaDynamicTableFactory {

    public static final String IDENTIFIER = "streamscore-kafka";

    public static final ConfigOption<Duration> PARTITION_IDLE_TIMEOUT = ConfigOptions.key("partition.idle-timeout")
            .durationType().noDefaultValue()
            .withDescription("After this long without records a partition stops holding back event time; "
                    + "once all of a subtask's partitions are quiet, they start holding it back again together.");

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        Set<ConfigOption<?>> options = new HashSet<>(super.optionalOptions());
        options.add(PARTITION_IDLE_TIMEOUT);
        return options;
    }

    @Override
    public DynamicTableSource createDynamicTableSource(Context context) {
        EagerSplitKafkaSource source = (EagerSplitKafkaSource) super.createDynamicTableSource(context);
        source.partitionIdleTimeout = Configuration.fromMap(context.getCatalogTable().getOptions())
                .get(PARTITION_IDLE_TIMEOUT);
        return source;
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
