package io.streamscore.flink.features;

import io.streamscore.flink.features.FeatureRows.Features;
import io.streamscore.flink.features.FeatureRows.WithTerminal;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

import java.util.Arrays;
import java.util.List;

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
final class CustomerSpendStage extends WatermarkOrderedStage {

    private static final long[] WINDOWS = TerminalRiskStage.WINDOWS;

    /** One customer's last 30 days of transactions: event times ascending, and amounts. */
    public static class History {
        public long[] times = TimeSeries.NO_TIMES;
        public double[] amounts = TimeSeries.NO_VALUES;
    }

    private transient ValueState<History> history;

    CustomerSpendStage() {
        super(WithTerminal.TYPE, new FeatureRows.Order(WithTerminal.TIME, -1, WithTerminal.PARTITION, WithTerminal.OFFSET),
                WithTerminal.TIME, WINDOWS[WINDOWS.length - 1]);
    }

    @Override
    void openHistory() {
        history = getRuntimeContext().getState(new ValueStateDescriptor<>("history", TypeInformation.of(History.class)));
    }

    @Override
    boolean take(List<Row> due, long now, OnTimerContext ctx, Collector<Row> out) throws Exception {
        History h = history.value();
        if (h == null) {
            h = new History();
        }
        if (!due.isEmpty()) {
            int n = h.times.length;
            h.times = Arrays.copyOf(h.times, n + due.size());
            h.amounts = Arrays.copyOf(h.amounts, n + due.size());
            for (Row row : due) {
                long t = (Long) row.getField(WithTerminal.TIME);
                h.times[n] = t;
                h.amounts[n] = (Double) row.getField(WithTerminal.AMOUNT);
                n++;
                Row outRow = new Row(Features.TYPE.getArity());
                outRow.setField(0, row.getField(WithTerminal.CUSTOMER_ID));
                outRow.setField(1, row.getField(WithTerminal.TRANSACTION_ID));
                outRow.setField(2, row.getField(WithTerminal.TERMINAL_ID));
                outRow.setField(3, row.getField(WithTerminal.AMOUNT));
                outRow.setField(4, row.getField(WithTerminal.EVENT_TIME));
                outRow.setField(5, row.getField(WithTerminal.TX_TIME_MS));
                outRow.setField(6, row.getField(WithTerminal.KAFKA_KEY));
                outRow.setField(7, row.getField(WithTerminal.PAYLOAD));
                outRow.setField(8, row.getField(WithTerminal.PARTITION));
                outRow.setField(9, row.getField(WithTerminal.OFFSET));
                for (int w = 0; w < WINDOWS.length; w++) {
                    // Over the first n entries: the rows after this one in `due` are not counted yet.
                    int count = TimeSeries.count(h.times, n, t - WINDOWS[w], t);
                    outRow.setField(Features.CUSTOMER_FEATURES + 2 * w, (double) count);
                    outRow.setField(Features.CUSTOMER_FEATURES + 2 * w + 1,
                            TimeSeries.sum(h.times, h.amounts, n, t - WINDOWS[w], t) / count);
                }
                for (int i = 0; i < 6; i++) {
                    outRow.setField(Features.TERMINAL_FEATURES + i, row.getField(WithTerminal.FEATURES + i));
                }
                out.collect(outRow);
            }
        }
        long horizon = now - WINDOWS[WINDOWS.length - 1];
        h.amounts = TimeSeries.after(h.times, h.amounts, horizon);
        h.times = TimeSeries.after(h.times, horizon);
        boolean empty = h.times.length == 0;
        if (!empty) {
            history.update(h);
        }
        return empty;
    }

    @Override
    void clearHistory() {
        history.clear();
    }
}
