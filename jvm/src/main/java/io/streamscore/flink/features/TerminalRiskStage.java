package io.streamscore.flink.features;

import io.streamscore.flink.features.FeatureRows.Event;
import io.streamscore.flink.features.FeatureRows.WithTerminal;
import org.apache.flink.types.Row;
import org.apache.flink.util.OutputTag;

import java.util.Arrays;

/**
 * Per-terminal fraud risk in event time: the handbook's {@code TERMINAL_ID_NB_TX_wDAY_WINDOW} and
 * {@code TERMINAL_ID_RISK_wDAY_WINDOW}, w ∈ {1, 7, 30}, over the terminal's transactions in
 * {@code (t − d − w, t − d]} with d the label delay.
 *
 * <p>Input: transactions and fraud labels ({@link Event}), keyed by terminal. A label counts from
 * its own event time on (when it became known); at the same instant labels go before
 * transactions. Output: one {@link WithTerminal} row per transaction, emitted when the watermark
 * passes its time; a transaction id already seen at this terminal within the history goes to
 * {@code duplicates} instead (and is not counted).
 */
final class TerminalRiskStage extends WatermarkOrderedOperator<TerminalRiskStage.History> {

    static final long[] WINDOWS = {DAY, 7 * DAY, 30 * DAY};

    /** One terminal's history: its recent transactions and its known frauds. */
    public static class History extends WatermarkOrderedOperator.History {
        /** Event times of the terminal's transactions, ascending, and their ids (to refuse a repeat). */
        public long[] txTimes = TimeSeries.NO_TIMES;
        public String[] txIds = new String[0];
        /** Event times of the terminal's transactions known to be frauds, ascending, and their ids. */
        public long[] fraudTimes = TimeSeries.NO_TIMES;
        public String[] fraudIds = new String[0];

        @Override
        long lastTime() {
            return Math.max(txTimes.length == 0 ? Long.MIN_VALUE : txTimes[txTimes.length - 1],
                    fraudTimes.length == 0 ? Long.MIN_VALUE : fraudTimes[fraudTimes.length - 1]);
        }

        @Override
        boolean keepAfter(long horizon) {
            int keep = TimeSeries.firstAfter(txTimes, horizon);
            if (keep > 0) {
                txTimes = Arrays.copyOfRange(txTimes, keep, txTimes.length);
                txIds = Arrays.copyOfRange(txIds, keep, txIds.length);
            }
            int keepFrauds = TimeSeries.firstAfter(fraudTimes, horizon);
            if (keepFrauds > 0) {
                fraudTimes = Arrays.copyOfRange(fraudTimes, keepFrauds, fraudTimes.length);
                fraudIds = Arrays.copyOfRange(fraudIds, keepFrauds, fraudIds.length);
            }
            return txTimes.length > 0 || fraudTimes.length > 0;
        }
    }

    private final long delayMs;
    private final OutputTag<Row> duplicates;
    private final String transactionsTopic;

    TerminalRiskStage(long delayMs, OutputTag<Row> duplicates, String transactionsTopic) {
        super(Event.TYPE, new FeatureRows.Order(Event.TIME, Event.RANK, Event.PARTITION, Event.OFFSET), Event.TIME,
                Event.TERMINAL_ID, delayMs + WINDOWS[WINDOWS.length - 1], History.class);
        this.delayMs = delayMs;
        this.duplicates = duplicates;
        this.transactionsTopic = transactionsTopic;
    }

    @Override
    void take(Row row, long t) throws Exception {
        History h = history();
        String id = (String) row.getField(Event.TRANSACTION_ID);
        if ((Integer) row.getField(Event.RANK) == Event.LABEL) {
            if (Boolean.TRUE.equals(row.getField(Event.IS_FRAUD)) && !contains(h.fraudIds, id)) {
                long txTime = (Long) row.getField(Event.TX_TIME_MS);
                int at = TimeSeries.firstAfter(h.fraudTimes, txTime);
                h.fraudTimes = TimeSeries.insert(h.fraudTimes, txTime);
                h.fraudIds = insertAt(h.fraudIds, at, id);
            }
        } else if (contains(h.txIds, id)) {
            emit(duplicates, Row.of(row.getField(Event.KAFKA_KEY), row.getField(Event.PAYLOAD), transactionsTopic,
                    row.getField(Event.PARTITION), row.getField(Event.OFFSET),
                    "duplicate_event: transaction " + id + " was already seen at this terminal"), t);
            return;
        } else {
            emit(withFeatures(row, t, h), t);
            h.txTimes = append(h.txTimes, t);
            h.txIds = append(h.txIds, id);
        }
        // Only the last d + 30 days can fall in a window of this or a later transaction.
        store(h, t);
    }

    private Row withFeatures(Row row, long t, History h) {
        Row out = new Row(WithTerminal.TYPE.getArity());
        out.setField(WithTerminal.TRANSACTION_ID, row.getField(Event.TRANSACTION_ID));
        out.setField(WithTerminal.CUSTOMER_ID, row.getField(Event.CUSTOMER_ID));
        out.setField(WithTerminal.TERMINAL_ID, row.getField(Event.TERMINAL_ID));
        out.setField(WithTerminal.AMOUNT, row.getField(Event.AMOUNT));
        out.setField(WithTerminal.EVENT_TIME, row.getField(Event.EVENT_TIME));
        out.setField(WithTerminal.TX_TIME_MS, row.getField(Event.TX_TIME_MS));
        out.setField(WithTerminal.KAFKA_KEY, row.getField(Event.KAFKA_KEY));
        out.setField(WithTerminal.PAYLOAD, row.getField(Event.PAYLOAD));
        out.setField(WithTerminal.PARTITION, row.getField(Event.PARTITION));
        out.setField(WithTerminal.OFFSET, row.getField(Event.OFFSET));
        out.setField(WithTerminal.TIME, t);
        long to = t - delayMs;
        for (int w = 0; w < WINDOWS.length; w++) {
            int transactions = TimeSeries.count(h.txTimes, to - WINDOWS[w], to);
            int frauds = TimeSeries.count(h.fraudTimes, to - WINDOWS[w], to);
            out.setField(WithTerminal.FEATURES + 2 * w, (double) transactions);
            out.setField(WithTerminal.FEATURES + 2 * w + 1, transactions == 0 ? 0.0 : (double) frauds / transactions);
        }
        return out;
    }

    private static boolean contains(String[] ids, String id) {
        for (String seen : ids) {
            if (seen.equals(id)) {
                return true;
            }
        }
        return false;
    }

    private static long[] append(long[] values, long value) {
        long[] grown = Arrays.copyOf(values, values.length + 1);
        grown[values.length] = value;
        return grown;
    }

    private static String[] append(String[] values, String value) {
        String[] grown = Arrays.copyOf(values, values.length + 1);
        grown[values.length] = value;
        return grown;
    }

    private static String[] insertAt(String[] values, int at, String value) {
        String[] grown = new String[values.length + 1];
        System.arraycopy(values, 0, grown, 0, at);
        grown[at] = value;
        System.arraycopy(values, at, grown, at + 1, values.length - at);
        return grown;
    }
}
