package io.streamscore.flink.features;

import org.apache.flink.table.annotation.ArgumentHint;
import org.apache.flink.table.annotation.ArgumentTrait;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.annotation.StateHint;
import org.apache.flink.table.functions.ProcessTableFunction;
import org.apache.flink.types.Row;

/**
 * Per-customer spending in event time: the handbook's {@code CUSTOMER_ID_NB_TX_wDAY_WINDOW} and
 * {@code CUSTOMER_ID_AVG_AMOUNT_wDAY_WINDOW}, w ∈ {1, 7, 30}, over {@code (t − w, t]} including the
 * transaction itself.
 *
 * <p>A transaction's windows hold only the transactions before it: earlier event time, or the same
 * event time and an earlier offset in its Kafka partition (a customer's transactions share one
 * partition, the message key being the customer id). Rows wait for the watermark, so one that
 * arrives late but within the allowed out-of-orderness still counts for the later ones.
 *
 * <p>Input: the terminal stage's output, partitioned by {@code customer_id}, {@code on_time} its
 * event time. Output: the input's fields plus the six features.
 */
@FunctionHint(output = @DataTypeHint(
        "ROW<transaction_id STRING, terminal_id STRING, amount DOUBLE, event_time STRING, tx_time_ms BIGINT, "
                + "kafka_key BYTES, payload BYTES, kafka_partition INT, kafka_offset BIGINT, "
                + "customer_nb_tx_1 DOUBLE, customer_avg_amount_1 DOUBLE, customer_nb_tx_7 DOUBLE, "
                + "customer_avg_amount_7 DOUBLE, customer_nb_tx_30 DOUBLE, customer_avg_amount_30 DOUBLE, "
                + "terminal_nb_tx_1 DOUBLE, terminal_risk_1 DOUBLE, terminal_nb_tx_7 DOUBLE, terminal_risk_7 DOUBLE, "
                + "terminal_nb_tx_30 DOUBLE, terminal_risk_30 DOUBLE>"))
public class CustomerSpendFeatures extends ProcessTableFunction<Row> {

    private static final long[] WINDOWS = TerminalRiskFeatures.WINDOWS;
    // transaction_id, terminal_id, amount, event_time, tx_time_ms, kafka_key, payload, 6 terminal features
    private static final PendingRows PENDING = new PendingRows(
            PendingRows.Kind.STRING, PendingRows.Kind.STRING, PendingRows.Kind.DOUBLE, PendingRows.Kind.STRING,
            PendingRows.Kind.LONG, PendingRows.Kind.BYTES, PendingRows.Kind.BYTES,
            PendingRows.Kind.DOUBLE, PendingRows.Kind.DOUBLE, PendingRows.Kind.DOUBLE,
            PendingRows.Kind.DOUBLE, PendingRows.Kind.DOUBLE, PendingRows.Kind.DOUBLE);
    private static final String[] TERMINAL_FEATURES = {"terminal_nb_tx_1", "terminal_risk_1", "terminal_nb_tx_7",
            "terminal_risk_7", "terminal_nb_tx_30", "terminal_risk_30"};

    /** One customer's state: the last 30 days of transactions and rows in waiting. */
    public static class CustomerState {
        public long[] times;
        public double[] amounts;
        public byte[] pending;
    }

    public void eval(Context ctx, @StateHint CustomerState state,
                     @ArgumentHint({ArgumentTrait.SET_SEMANTIC_TABLE, ArgumentTrait.REQUIRE_ON_TIME}) Row input) {
        TimeContext<Long> time = ctx.timeContext(Long.class);
        Row buffered = new Row(13);
        buffered.setField(0, input.getField("transaction_id"));
        buffered.setField(1, input.getField("terminal_id"));
        buffered.setField(2, input.getField("amount"));
        buffered.setField(3, input.getField("event_time"));
        buffered.setField(4, input.getField("tx_time_ms"));
        buffered.setField(5, input.getField("kafka_key"));
        buffered.setField(6, input.getField("payload"));
        for (int i = 0; i < TERMINAL_FEATURES.length; i++) {
            buffered.setField(7 + i, input.getField(TERMINAL_FEATURES[i]));
        }
        state.pending = PENDING.append(state.pending, new PendingRows.Entry(time.time(), 0,
                (Integer) input.getField("kafka_partition"), (Long) input.getField("kafka_offset"), buffered));
        time.registerOnTime(time.time());
    }

    public void onTimer(OnTimerContext ctx, CustomerState state) {
        long now = ctx.timeContext(Long.class).time();
        PendingRows.Split split = PENDING.takeUpTo(state.pending, now);
        state.pending = split.waiting();
        long[] times = state.times == null ? TimeSeries.NO_TIMES : state.times;
        double[] amounts = state.amounts == null ? TimeSeries.NO_VALUES : state.amounts;
        for (PendingRows.Entry entry : split.due()) {
            Row row = entry.row();
            long t = entry.time();
            times = java.util.Arrays.copyOf(times, times.length + 1);
            times[times.length - 1] = t;
            amounts = java.util.Arrays.copyOf(amounts, amounts.length + 1);
            amounts[amounts.length - 1] = (Double) row.getField(2);
            Row out = new Row(21);
            for (int i = 0; i < 5; i++) {
                out.setField(i, row.getField(i));
            }
            out.setField(5, row.getField(5));
            out.setField(6, row.getField(6));
            out.setField(7, entry.partition());
            out.setField(8, entry.offset());
            for (int w = 0; w < WINDOWS.length; w++) {
                int count = TimeSeries.count(times, t - WINDOWS[w], t);
                out.setField(9 + 2 * w, (double) count);
                out.setField(10 + 2 * w, TimeSeries.sum(times, amounts, t - WINDOWS[w], t) / count);
            }
            for (int i = 0; i < TERMINAL_FEATURES.length; i++) {
                out.setField(15 + i, row.getField(7 + i));
            }
            collect(out);
        }
        long horizon = now - WINDOWS[WINDOWS.length - 1];
        state.amounts = TimeSeries.after(times, amounts, horizon);
        state.times = TimeSeries.after(times, horizon);
    }
}
