package io.streamscore.flink.features;

import org.apache.flink.table.annotation.ArgumentHint;
import org.apache.flink.table.annotation.ArgumentTrait;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.annotation.StateHint;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ProcessTableFunction;
import org.apache.flink.types.Row;

import java.time.Duration;
import java.util.Arrays;

/**
 * Per-terminal fraud risk in event time: the handbook's {@code TERMINAL_ID_NB_TX_wDAY_WINDOW} and
 * {@code TERMINAL_ID_RISK_wDAY_WINDOW}, w ∈ {1, 7, 30}, over the terminal's transactions in
 * {@code (t − d − w, t − d]} with d the label delay.
 *
 * <p>Input: transactions and fraud labels of the terminal (one table, {@code kind} tells them
 * apart), partitioned by {@code terminal_id}, {@code on_time} the event time. A label counts from
 * its own event time on (when it became known); at the same instant labels go before
 * transactions. Output: one row per transaction with its fields and the six features, emitted
 * when the watermark passes its time; {@code error} is set for a transaction id already seen at
 * this terminal (it is then not counted).
 *
 * <p>SQL: {@code terminal_risk_features(input => TABLE events PARTITION BY terminal_id,
 * on_time => DESCRIPTOR(rowtime), uid => 'terminal-risk-v1')}. The delay comes from the job
 * parameter {@code streamscore.fraud.label-delay-ms}.
 */
@FunctionHint(output = @DataTypeHint(
        "ROW<error STRING, transaction_id STRING, customer_id STRING, amount DOUBLE, event_time STRING, "
                + "tx_time_ms BIGINT, kafka_key BYTES, payload BYTES, kafka_partition INT, kafka_offset BIGINT, "
                + "terminal_nb_tx_1 DOUBLE, terminal_risk_1 DOUBLE, terminal_nb_tx_7 DOUBLE, terminal_risk_7 DOUBLE, "
                + "terminal_nb_tx_30 DOUBLE, terminal_risk_30 DOUBLE>"))
public class TerminalRiskFeatures extends ProcessTableFunction<Row> {

    static final long DAY = Duration.ofDays(1).toMillis();
    static final long[] WINDOWS = {DAY, 7 * DAY, 30 * DAY};
    private static final int LABEL_RANK = 0;
    private static final int TRANSACTION_RANK = 1;
    // kind, transaction_id, customer_id, amount, event_time, tx_time_ms, is_fraud, kafka_key, payload
    private static final PendingRows PENDING = new PendingRows(
            PendingRows.Kind.STRING, PendingRows.Kind.STRING, PendingRows.Kind.STRING, PendingRows.Kind.DOUBLE,
            PendingRows.Kind.STRING, PendingRows.Kind.LONG, PendingRows.Kind.BOOLEAN, PendingRows.Kind.BYTES,
            PendingRows.Kind.BYTES);

    /** One terminal's state: its recent transactions, its known frauds, and rows in waiting. */
    public static class TerminalState {
        /** Event times of the terminal's transactions, ascending. */
        public long[] txTimes;
        /** Transaction ids, parallel to txTimes, to refuse a repeated id. */
        public String[] txIds;
        /** Event times of the terminal's transactions known to be frauds, ascending. */
        public long[] fraudTimes;
        /** Their transaction ids, parallel to fraudTimes: a repeated label counts once. */
        public String[] fraudIds;
        public byte[] pending;
    }

    private transient long delayMs;

    @Override
    public void open(FunctionContext context) {
        delayMs = Long.parseLong(context.getJobParameter("streamscore.fraud.label-delay-ms", String.valueOf(7 * DAY)));
    }

    public void eval(Context ctx, @StateHint TerminalState state,
                     @ArgumentHint({ArgumentTrait.SET_SEMANTIC_TABLE, ArgumentTrait.REQUIRE_ON_TIME}) Row input) {
        TimeContext<Long> time = ctx.timeContext(Long.class);
        String kind = input.getFieldAs("kind");
        Row buffered = Row.of(kind, input.getField("transaction_id"), input.getField("customer_id"),
                input.getField("amount"), input.getField("event_time"), input.getField("tx_time_ms"),
                input.getField("is_fraud"), input.getField("kafka_key"), input.getField("payload"));
        state.pending = PENDING.append(state.pending, new PendingRows.Entry(time.time(),
                "label".equals(kind) ? LABEL_RANK : TRANSACTION_RANK,
                (Integer) input.getField("kafka_partition"), (Long) input.getField("kafka_offset"), buffered));
        time.registerOnTime(time.time());
    }

    public void onTimer(OnTimerContext ctx, TerminalState state) {
        long now = ctx.timeContext(Long.class).time();
        PendingRows.Split split = PENDING.takeUpTo(state.pending, now);
        state.pending = split.waiting();
        long[] txTimes = state.txTimes == null ? TimeSeries.NO_TIMES : state.txTimes;
        String[] txIds = state.txIds == null ? new String[0] : state.txIds;
        long[] fraudTimes = state.fraudTimes == null ? TimeSeries.NO_TIMES : state.fraudTimes;
        String[] fraudIds = state.fraudIds == null ? new String[0] : state.fraudIds;
        for (PendingRows.Entry entry : split.due()) {
            Row row = entry.row();
            if (entry.rank() == LABEL_RANK) {
                String labelled = (String) row.getField(1);
                if (Boolean.TRUE.equals(row.getField(6)) && !Arrays.asList(fraudIds).contains(labelled)) {
                    long txTime = (Long) row.getField(5);
                    int at = TimeSeries.firstAfter(fraudTimes, txTime);
                    fraudTimes = TimeSeries.insert(fraudTimes, txTime);
                    fraudIds = insertAt(fraudIds, at, labelled);
                }
                continue;
            }
            String id = (String) row.getField(1);
            if (Arrays.asList(txIds).contains(id)) {
                collect(output("duplicate_event: transaction " + id + " was already seen at this terminal",
                        entry, row, null));
                continue;
            }
            long t = entry.time();
            double[] features = new double[6];
            for (int w = 0; w < WINDOWS.length; w++) {
                long to = t - delayMs;
                int transactions = TimeSeries.count(txTimes, to - WINDOWS[w], to);
                int frauds = TimeSeries.count(fraudTimes, to - WINDOWS[w], to);
                features[2 * w] = transactions;
                features[2 * w + 1] = transactions == 0 ? 0.0 : (double) frauds / transactions;
            }
            collect(output(null, entry, row, features));
            txTimes = append(txTimes, t);
            txIds = append(txIds, id);
        }
        // Only the last d + 30 days can fall in a window of a future transaction.
        long horizon = now - delayMs - WINDOWS[WINDOWS.length - 1];
        int keep = TimeSeries.firstAfter(txTimes, horizon);
        state.txTimes = keep == 0 ? txTimes : Arrays.copyOfRange(txTimes, keep, txTimes.length);
        state.txIds = keep == 0 ? txIds : Arrays.copyOfRange(txIds, keep, txIds.length);
        int keepFrauds = TimeSeries.firstAfter(fraudTimes, horizon);
        state.fraudTimes = Arrays.copyOfRange(fraudTimes, keepFrauds, fraudTimes.length);
        state.fraudIds = Arrays.copyOfRange(fraudIds, keepFrauds, fraudIds.length);
    }

    private static Row output(String error, PendingRows.Entry entry, Row row, double[] f) {
        return Row.of(error, row.getField(1), row.getField(2), row.getField(3), row.getField(4), row.getField(5),
                row.getField(7), row.getField(8), entry.partition(), entry.offset(),
                f == null ? null : f[0], f == null ? null : f[1], f == null ? null : f[2],
                f == null ? null : f[3], f == null ? null : f[4], f == null ? null : f[5]);
    }

    private static long[] append(long[] values, long value) {
        long[] grown = Arrays.copyOf(values, values.length + 1);
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

    private static String[] append(String[] values, String value) {
        String[] grown = Arrays.copyOf(values, values.length + 1);
        grown[values.length] = value;
        return grown;
    }
}
