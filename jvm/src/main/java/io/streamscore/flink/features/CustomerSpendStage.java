package io.streamscore.flink.features;

import io.streamscore.flink.features.FeatureRows.Features;
import io.streamscore.flink.features.FeatureRows.WithTerminal;
import org.apache.flink.types.Row;

import java.util.Arrays;

/**
 * Per-customer spending in event time: the handbook's {@code CUSTOMER_ID_NB_TX_wDAY_WINDOW} and
 * {@code CUSTOMER_ID_AVG_AMOUNT_wDAY_WINDOW}, w ∈ {1, 7, 30}, over {@code (t − w, t]} including the
 * transaction itself.
 *
 * <p>A transaction's windows hold only the transactions before it: earlier event time, or the same
 * event time and an earlier offset in its Kafka partition (a customer's transactions share one
 * partition, the message key being the customer id).
 *
 * <p>Input: the terminal stage's {@link WithTerminal} rows, keyed by customer. Output: one
 * {@link Features} row per transaction.
 */
final class CustomerSpendStage extends WatermarkOrderedOperator<CustomerSpendStage.History> {

    private static final long[] WINDOWS = TerminalRiskStage.WINDOWS;

    /** One customer's last 30 days of transactions: event times ascending, and amounts. */
    public static class History extends WatermarkOrderedOperator.History {
        public long[] times = TimeSeries.NO_TIMES;
        public double[] amounts = TimeSeries.NO_VALUES;

        @Override
        boolean keepAfter(long horizon) {
            amounts = TimeSeries.after(times, amounts, horizon);
            times = TimeSeries.after(times, horizon);
            return times.length > 0;
        }

        @Override
        long lastTime() {
            return times[times.length - 1];
        }
    }

    CustomerSpendStage() {
        super(WithTerminal.TYPE, new FeatureRows.Order(WithTerminal.TIME, -1, WithTerminal.PARTITION, WithTerminal.OFFSET),
                WithTerminal.TIME, WithTerminal.CUSTOMER_ID, WINDOWS[WINDOWS.length - 1], History.class);
    }

    @Override
    void take(Row row, long t) throws Exception {
        History h = history();
        // The windows end at this transaction and include it.
        h.keepAfter(t - horizonMs);
        int n = h.times.length;
        h.times = Arrays.copyOf(h.times, n + 1);
        h.amounts = Arrays.copyOf(h.amounts, n + 1);
        h.times[n] = t;
        h.amounts[n] = (Double) row.getField(WithTerminal.AMOUNT);
        Row out = new Row(Features.TYPE.getArity());
        out.setField(0, row.getField(WithTerminal.CUSTOMER_ID));
        out.setField(1, row.getField(WithTerminal.TRANSACTION_ID));
        out.setField(2, row.getField(WithTerminal.TERMINAL_ID));
        out.setField(3, row.getField(WithTerminal.AMOUNT));
        out.setField(4, row.getField(WithTerminal.EVENT_TIME));
        out.setField(5, row.getField(WithTerminal.TX_TIME_MS));
        out.setField(6, row.getField(WithTerminal.KAFKA_KEY));
        out.setField(7, row.getField(WithTerminal.PAYLOAD));
        out.setField(8, row.getField(WithTerminal.PARTITION));
        out.setField(9, row.getField(WithTerminal.OFFSET));
        for (int w = 0; w < WINDOWS.length; w++) {
            int count = TimeSeries.count(h.times, t - WINDOWS[w], t);
            out.setField(Features.CUSTOMER_FEATURES + 2 * w, (double) count);
            out.setField(Features.CUSTOMER_FEATURES + 2 * w + 1, TimeSeries.sum(h.times, h.amounts, t - WINDOWS[w], t) / count);
        }
        for (int i = 0; i < 6; i++) {
            out.setField(Features.TERMINAL_FEATURES + i, row.getField(WithTerminal.FEATURES + i));
        }
        emit(out, t);
        store(h, t);
    }
}
