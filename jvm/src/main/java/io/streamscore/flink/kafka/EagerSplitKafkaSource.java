package io.streamscore.flink.kafka;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.kafka.shaded.org.apache.kafka.common.TopicPartition;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.connectors.kafka.config.BoundedMode;
import org.apache.flink.streaming.connectors.kafka.config.StartupMode;
import org.apache.flink.streaming.connectors.kafka.table.KafkaDynamicSource;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.connector.Projection;
import org.apache.flink.table.connector.ProviderContext;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.connector.source.DataStreamScanProvider;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Pattern;

/** The Kafka table source whose readers register every split's watermark eagerly. */
public class EagerSplitKafkaSource extends KafkaDynamicSource {

    /** {@code partition.idle-timeout}: after it, a quiet split stops holding back event time; null: never. */
    Duration partitionIdleTimeout;

    EagerSplitKafkaSource(DataType physicalDataType, DecodingFormat<DeserializationSchema<RowData>> keyDecodingFormat,
                          DecodingFormat<DeserializationSchema<RowData>> valueDecodingFormat, int[] keyProjection,
                          int[] valueProjection, String keyPrefix, List<String> topics, Pattern topicPattern,
                          Properties properties, StartupMode startupMode,
                          Map<TopicPartition, Long> specificStartupOffsets, long startupTimestampMillis,
                          BoundedMode boundedMode, Map<TopicPartition, Long> specificBoundedOffsets,
                          long boundedTimestampMillis, String tableIdentifier, Integer parallelism) {
        super(physicalDataType, keyDecodingFormat, valueDecodingFormat, keyProjection, valueProjection, keyPrefix,
                topics, topicPattern, properties, startupMode, specificStartupOffsets, startupTimestampMillis,
                boundedMode, specificBoundedOffsets, boundedTimestampMillis, false, tableIdentifier, parallelism);
    }

    @Override
    public ScanRuntimeProvider getScanRuntimeProvider(ScanContext context) {
        DeserializationSchema<RowData> keys = decoder(context, keyDecodingFormat, keyProjection, keyPrefix);
        DeserializationSchema<RowData> values = decoder(context, valueDecodingFormat, valueProjection, null);
        TypeInformation<RowData> producedType = context.createTypeInformation(producedDataType);
        KafkaSource<RowData> kafka = createKafkaSource(keys, values, producedType);
        WatermarkStrategy<RowData> watermarks = watermarkStrategy == null ? WatermarkStrategy.noWatermarks()
                : partitionIdleTimeout == null ? watermarkStrategy
                : new SplitIdleness<>(watermarkStrategy, partitionIdleTimeout);
        return new DataStreamScanProvider() {
            @Override
            public DataStream<RowData> produceDataStream(ProviderContext providerContext, StreamExecutionEnvironment env) {
                DataStreamSource<RowData> stream = env.fromSource(
                        new EagerSplitOutputs<>(kafka, producedType), watermarks, "KafkaSource-" + tableIdentifier);
                providerContext.generateUid("kafka").ifPresent(stream::uid);
                return stream;
            }

            @Override
            public boolean isBounded() {
                return kafka.getBoundedness() == Boundedness.BOUNDED;
            }

            @Override
            public Optional<Integer> getParallelism() {
                return Optional.ofNullable(parallelism);
            }
        };
    }

    /** The key or value decoder, as the Kafka connector builds it (its own method is private). */
    private DeserializationSchema<RowData> decoder(DynamicTableSource.Context context,
                                                   DecodingFormat<DeserializationSchema<RowData>> format,
                                                   int[] projection, String prefix) {
        if (format == null) {
            return null;
        }
        if (prefix != null) {
            throw new ValidationException(EagerSplitKafkaTableFactory.IDENTIFIER + " does not support key.fields-prefix");
        }
        return format.createRuntimeDecoder(context, Projection.of(projection).project(physicalDataType));
    }

    @Override
    public DynamicTableSource copy() {
        EagerSplitKafkaSource copy = new EagerSplitKafkaSource(physicalDataType, keyDecodingFormat, valueDecodingFormat,
                keyProjection, valueProjection, keyPrefix, topics, topicPattern, properties, startupMode,
                specificStartupOffsets, startupTimestampMillis, boundedMode, specificBoundedOffsets,
                boundedTimestampMillis, tableIdentifier, parallelism);
        copy.producedDataType = producedDataType;
        copy.metadataKeys = metadataKeys;
        copy.watermarkStrategy = watermarkStrategy;
        copy.partitionIdleTimeout = partitionIdleTimeout;
        return copy;
    }

    @Override
    public String asSummaryString() {
        return "Kafka table source (eager split watermarks, splits idle together)";
    }
}
