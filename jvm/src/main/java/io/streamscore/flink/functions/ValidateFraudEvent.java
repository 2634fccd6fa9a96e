package io.streamscore.flink.functions;

import io.streamscore.flink.validation.EventValidator;
import io.streamscore.flink.validation.TopicSchemas;
import io.streamscore.flink.validation.ValidEvent;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;
import org.apache.flink.types.Row;

import java.time.Instant;

/**
 * Validates one message of the fraud job's input topics (transactions and fraud labels) against
 * its topic's schema and returns its fields, or the reason it is refused.
 *
 * <p>SQL: {@code validate_fraud_event(topic, payload, rowtime)}. For a transaction,
 * {@code tx_time_ms} is its own event time; for a label, the time of the transaction it labels.
 */
@FunctionHint(output = @DataTypeHint(
        "ROW<error STRING, kind STRING, transaction_id STRING, customer_id STRING, terminal_id STRING, "
                + "amount DOUBLE, tx_time_ms BIGINT, is_fraud BOOLEAN, event_time STRING>"))
public class ValidateFraudEvent extends ScalarFunction {

    private transient TopicSchemas schemas;

    @Override
    public void open(FunctionContext context) {
        schemas = new TopicSchemas(context);
    }

    public Row eval(String topic, byte[] payload, Instant rowtime) {
        EventValidator.Outcome outcome = schemas.validator(topic).check(payload, rowtime.toEpochMilli());
        if (!outcome.valid()) {
            return Row.of(outcome.reason(), null, null, null, null, null, null, null, null);
        }
        ValidEvent event = outcome.event();
        boolean label = "fraud-labels".equals(schemas.schemaName(topic));
        long txTime = label ? EventValidator.epochMillis(event.text("tx_event_time")) : rowtime.toEpochMilli();
        return Row.of(null, label ? "label" : "transaction",
                event.text("transaction_id"), event.text("customer_id"), event.text("terminal_id"),
                label ? null : event.number("amount"),
                txTime,
                label ? event.bool("is_fraud") : null,
                event.text("event_time"));
    }
}
