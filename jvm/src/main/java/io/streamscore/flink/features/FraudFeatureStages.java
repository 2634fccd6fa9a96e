package io.streamscore.flink.features;

import io.streamscore.flink.features.FeatureRows.DeadLetter;
import io.streamscore.flink.features.FeatureRows.Event;
import io.streamscore.flink.features.FeatureRows.Features;
import io.streamscore.flink.features.FeatureRows.WithTerminal;
import io.streamscore.flink.validation.EventValidator;
import io.streamscore.flink.validation.ValidEvent;
import org.apache.flink.api.common.functions.OpenContext;
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

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * The fraud job's middle: raw Kafka records in; validation, then the handbook's twelve window
 * features per transaction out, as DataStream operators between the job's two Table API halves.
 *
 * <p>Keyed process functions rather than process table functions: a PTF converts its whole state
 * between Flink's internal rows and Java objects on every call, and that conversion (with the
 * state TTL's cleanup) was most of the job's CPU time (docs/performance.md). Here the state is
 * used in place and cleaned up by event time. Validation runs in the same operator that routes
 * events, so a valid event's fields go from the validator to the feature stages without a round
 * trip through Flink's internal rows.
 *
 * <p>From PyFlink ({@code streaming.jvm_functions.fraud_stages}): {@code raw} has the source's
 * {@code kafka_key, payload, kafka_topic, kafka_partition, kafka_offset}, its time attribute is the
 * Kafka record timestamp; it reads the transactions topic and the labels topic, each validated
 * against the JSON Schema text given with it.
 */
public final class FraudFeatureStages {

    /** The stages' outputs: features (with a {@code rowtime} attribute) and dead letters per stage. */
    public record Outputs(Table features, Table validateErrors, Table featureErrors) {}

    private static final OutputTag<Row> INVALID = new OutputTag<>("invalid", DeadLetter.TYPE);
    private static final OutputTag<Row> DUPLICATES = new OutputTag<>("duplicates", DeadLetter.TYPE);

    private FraudFeatureStages() {}

    public static Outputs apply(StreamTableEnvironment tEnv, Table raw, String transactionsTopic,
                                String transactionsSchema, String labelsTopic, String labelsSchema, long labelDelayMs) {
        List<String> columns = raw.getResolvedSchema().getColumnNames();
        SingleOutputStreamOperator<Row> events = tEnv.toDataStream(raw)
                .process(new ValidateAndRoute(columns, transactionsSchema, labelsTopic, labelsSchema),
                        Event.TYPE)
                .name("validate and route events").uid("validate-events-v1");
        SingleOutputStreamOperator<Row> withTerminal = events
                .keyBy(row -> (String) row.getField(Event.TERMINAL_ID), Types.STRING)
                .transform("terminal risk features", WithTerminal.TYPE,
                        new TerminalRiskStage(labelDelayMs, DUPLICATES, transactionsTopic))
                .uid("terminal-risk-v2");
        DataStream<Row> features = withTerminal
                .keyBy(row -> (String) row.getField(WithTerminal.CUSTOMER_ID), Types.STRING)
                .transform("customer spend features", Features.TYPE, new CustomerSpendStage())
                .uid("customer-spend-v2");
        Schema withEventTime = Schema.newBuilder()
                .columnByMetadata("rowtime", "TIMESTAMP_LTZ(3)")
                .watermark("rowtime", "SOURCE_WATERMARK()")
                .build();
        return new Outputs(tEnv.fromDataStream(features, withEventTime),
                tEnv.fromDataStream(events.getSideOutput(INVALID)),
                tEnv.fromDataStream(withTerminal.getSideOutput(DUPLICATES)));
    }

    /**
     * Validates each record against its topic's schema: valid transactions and labels go on as
     * {@link Event} rows, refused or late records to {@code INVALID} with the reason. A record of
     * any topic but the labels topic is read as a transaction (the source reads only the two).
     */
    static final class ValidateAndRoute extends ProcessFunction<Row, Row> {
        private static final DateTimeFormatter SQL_TIMESTAMP =
                DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS").withZone(ZoneOffset.UTC);

        private final int key, payload, topic, partition, offset;
        private final String transactionsSchema, labelsTopic, labelsSchema;
        private transient EventValidator transactions, labels;

        ValidateAndRoute(List<String> columns, String transactionsSchema, String labelsTopic, String labelsSchema) {
            key = column(columns, "kafka_key");
            payload = column(columns, "payload");
            topic = column(columns, "kafka_topic");
            partition = column(columns, "kafka_partition");
            offset = column(columns, "kafka_offset");
            this.transactionsSchema = transactionsSchema;
            this.labelsTopic = labelsTopic;
            this.labelsSchema = labelsSchema;
        }

        private static int column(List<String> columns, String name) {
            int index = columns.indexOf(name);
            if (index < 0) {
                throw new IllegalArgumentException("the source lacks the column " + name + ": " + columns);
            }
            return index;
        }

        @Override
        public void open(OpenContext context) {
            transactions = new EventValidator(transactionsSchema);
            labels = new EventValidator(labelsSchema);
        }

        @Override
        public void processElement(Row row, Context ctx, Collector<Row> out) {
            String source = (String) row.getField(topic);
            boolean label = labelsTopic.equals(source);
            long time = ctx.timestamp();
            EventValidator.Outcome outcome = (label ? labels : transactions).check((byte[]) row.getField(payload), time);
            String refused = outcome.reason();
            // After validation, the rule of connectors.dead_letter.refusal: a late event cannot join
            // the event-time stages.
            if (refused == null && time <= ctx.timerService().currentWatermark()) {
                refused = "late_event: event time " + SQL_TIMESTAMP.format(Instant.ofEpochMilli(time))
                        + " is behind the watermark";
            }
            if (refused != null) {
                ctx.output(INVALID, Row.of(row.getField(key), row.getField(payload), source,
                        row.getField(partition), row.getField(offset), refused));
                return;
            }
            ValidEvent event = outcome.event();
            out.collect(Row.of(label ? Event.LABEL : Event.TRANSACTION,
                    event.text("transaction_id"), event.text("customer_id"), event.text("terminal_id"),
                    label ? null : event.number("amount"), event.text("event_time"),
                    label ? EventValidator.epochMillis(event.text("tx_event_time")) : time,
                    label ? event.bool("is_fraud") : null,
                    row.getField(key), row.getField(payload), row.getField(partition), row.getField(offset), time));
        }
    }
}
