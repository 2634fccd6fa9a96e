package io.streamscore.flink.features;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.java.typeutils.RowTypeInfo;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A keyed stage that takes in its rows in a defined order once the watermark has passed them.
 *
 * <p>Rows of one key reach the stage from several upstream subtasks and Kafka partitions, in no
 * defined order. Each row waits in the key's {@code pending} list until the watermark passes its
 * event time; the due rows are then handed to {@link #take} sorted by {@link FeatureRows#order}, so
 * a row's features never include one that follows it, and a replay gives the same features.
 *
 * <p>The key's history is dropped once no future row can need it: a cleanup timer at the end of
 * the week {@code horizonMs} after the key's last row finds it empty and clears it. That bounds the
 * state by event time, whatever the replay speed. Weeks rather than days: most cards and
 * terminals see a row a day or less, and a timer per row would double the timers.
 */
abstract class WatermarkOrderedStage extends KeyedProcessFunction<String, Row, Row> {

    static final long DAY = 86_400_000L;
    private static final long CLEANUP_GRAIN = 7 * DAY;

    private final RowTypeInfo rowType;
    private final Comparator<Row> order;
    private final int timeField;
    private final long horizonMs;
    private transient ListState<Row> pending;

    WatermarkOrderedStage(RowTypeInfo rowType, Comparator<Row> order, int timeField, long horizonMs) {
        this.rowType = rowType;
        this.order = order;
        this.timeField = timeField;
        this.horizonMs = horizonMs;
    }

    @Override
    public void open(OpenContext context) throws Exception {
        pending = getRuntimeContext().getListState(new ListStateDescriptor<>("pending", rowType));
        openHistory();
    }

    @Override
    public void processElement(Row row, Context ctx, Collector<Row> out) throws Exception {
        pending.add(row);
        ctx.timerService().registerEventTimeTimer((Long) row.getField(timeField));
    }

    @Override
    public void onTimer(long now, OnTimerContext ctx, Collector<Row> out) throws Exception {
        List<Row> due = new ArrayList<>();
        List<Row> waiting = new ArrayList<>();
        Iterable<Row> buffered = pending.get();
        if (buffered != null) {
            for (Row row : buffered) {
                ((Long) row.getField(timeField) <= now ? due : waiting).add(row);
            }
        }
        if (!due.isEmpty()) {
            due.sort(order);
            if (waiting.isEmpty()) {
                pending.clear();
            } else {
                pending.update(waiting);
            }
            long last = (Long) due.get(due.size() - 1).getField(timeField);
            ctx.timerService().registerEventTimeTimer(
                    Math.floorDiv(last + horizonMs, CLEANUP_GRAIN) * CLEANUP_GRAIN + CLEANUP_GRAIN);
        }
        if (take(due, now, ctx, out) && waiting.isEmpty()) {
            clearHistory();
        }
    }

    abstract void openHistory();

    /**
     * Takes in the due rows, in order, emits what they produce and drops history older than what
     * a row after {@code now} can need.
     *
     * @return whether the key's history is empty afterwards
     */
    abstract boolean take(List<Row> due, long now, OnTimerContext ctx, Collector<Row> out) throws Exception;

    abstract void clearHistory();
}
