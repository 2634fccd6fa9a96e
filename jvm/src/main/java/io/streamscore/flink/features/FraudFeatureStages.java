package io.streamscore.flink.features;

import io.streamscore.flink.features.FeatureRows.DeadLetter;
import io.streamscore.flink.features.FeatureRows.Event;
import io.streamscore.flink.features.FeatureRows.Features;
import io.streamscore.flink.features.FeatureRows.WithTerminal;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.util.List;

/**
 * The fraud job's feature stages: validated events in, one row per transaction with the handbook's
 * twelve window features out, as DataStream operators between two Table API halves of the job.
 *
 * <p>Keyed process functions rather than process table functions: a PTF converts its whole state
 * between Flink's internal rows and Java objects on every call, and that conversion (with the
 * state TTL's cleanup) was most of the job's CPU time (docs/performance.md). Here the state is
 * used in place and cleaned up by event time.
 *
 * <p>From PyFlink: {@code FraudFeatureStages.apply(t_env._j_tenv, checked._j_table, delay_ms,
 * topic)}, where {@code checked} has the source's {@code kafka_key, payload, kafka_topic,
 * kafka_partition, kafka_offset} and the validator's {@code error, kind, transaction_id,
 * customer_id, terminal_id, amount, tx_time_ms, is_fraud, event_time}; its time attribute is the
 * event time.
 */
public final class FraudFeatureStages {

    /** The stages' outputs: features (with a {@code rowtime} attribute) and dead letters per stage. */
    public record Outputs(Table features, Table validateErrors, Table featureErrors) {}

    private static final OutputTag<Row> INVALID = new OutputTag<>("invalid", DeadLetter.TYPE);
    private static final OutputTag<Row> DUPLICATES = new OutputTag<>("duplicates", DeadLetter.TYPE);

    private FraudFeatureStages() {}

    public static Outputs apply(StreamTableEnvironment tEnv, Table checked, long labelDelayMs, String transactionsTopic) {
        List<String> columns = checked.getResolvedSchema().getColumnNames();
        SingleOutputStreamOperator<Row> events = tEnv.toDataStream(checked)
                .process(new Route(columns), Event.TYPE).name("route valid and invalid events").uid("route-events-v1");
        SingleOutputStreamOperator<Row> withTerminal = events
                .keyBy(row -> (String) row.getField(Event.TERMINAL_ID), Types.STRING)
                .process(new TerminalRiskStage(labelDelayMs, DUPLICATES, transactionsTopic), WithTerminal.TYPE)
                .name("terminal risk features").uid("terminal-risk-v2");
        DataStream<Row> features = withTerminal
                .keyBy(row -> (String) row.getField(WithTerminal.CUSTOMER_ID), Types.STRING)
                .process(new CustomerSpendStage(), Features.TYPE)
                .name("customer spend features").uid("customer-spend-v2");
        Schema withEventTime = Schema.newBuilder()
                .columnByMetadata("rowtime", "TIMESTAMP_LTZ(3)")
                .watermark("rowtime", "SOURCE_WATERMARK()")
                .build();
        return new Outputs(tEnv.fromDataStream(features, withEventTime),
                tEnv.fromDataStream(events.getSideOutput(INVALID)),
                tEnv.fromDataStream(withTerminal.getSideOutput(DUPLICATES)));
    }

    /** Valid events to the feature stages as {@link Event} rows; refused ones to {@code INVALID}. */
    static final class Route extends ProcessFunction<Row, Row> {
        private final int key, payload, topic, partition, offset, error, kind, transactionId, customerId,
                terminalId, amount, txTimeMs, isFraud, eventTime;

        Route(List<String> columns) {
            key = columns.indexOf("kafka_key");
            payload = columns.indexOf("payload");
            topic = columns.indexOf("kafka_topic");
            partition = columns.indexOf("kafka_partition");
            offset = columns.indexOf("kafka_offset");
            error = columns.indexOf("error");
            kind = columns.indexOf("kind");
            transactionId = columns.indexOf("transaction_id");
            customerId = columns.indexOf("customer_id");
            terminalId = columns.indexOf("terminal_id");
            amount = columns.indexOf("amount");
            txTimeMs = columns.indexOf("tx_time_ms");
            isFraud = columns.indexOf("is_fraud");
            eventTime = columns.indexOf("event_time");
            int[] all = {key, payload, topic, partition, offset, error, kind, transactionId, customerId, terminalId,
                    amount, txTimeMs, isFraud, eventTime};
            for (int index : all) {
                if (index < 0) {
                    throw new IllegalArgumentException("the validated events lack a column the feature stages need: "
                            + columns);
                }
            }
        }

        @Override
        public void processElement(Row row, Context ctx, Collector<Row> out) {
            Object refused = row.getField(error);
            if (refused != null) {
                ctx.output(INVALID, Row.of(row.getField(key), row.getField(payload), row.getField(topic),
                        row.getField(partition), row.getField(offset), refused));
                return;
            }
            out.collect(Row.of("label".equals(row.getField(kind)) ? Event.LABEL : Event.TRANSACTION,
                    row.getField(transactionId), row.getField(customerId), row.getField(terminalId),
                    row.getField(amount), row.getField(eventTime), row.getField(txTimeMs), row.getField(isFraud),
                    row.getField(key), row.getField(payload), row.getField(partition), row.getField(offset),
                    ctx.timestamp()));
        }
    }
}
