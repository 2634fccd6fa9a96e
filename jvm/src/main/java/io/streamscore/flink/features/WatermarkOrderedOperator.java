package io.streamscore.flink.features;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.RowTypeInfo;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.types.Row;
import org.apache.flink.util.OutputTag;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A keyed stage that takes in its rows in a defined order once the watermark has passed them.
 *
 * <p>Rows of one key reach the stage from several upstream subtasks and Kafka partitions, in no
 * defined order. They wait in memory until a watermark passes their event time; the due rows are
 * then handed to {@link #take}, with the key context set, sorted by {@link FeatureRows.Order}, so a
 * row's features never include one that follows it and a replay gives the same features.
 *
 * <p>Why an operator and not a keyed process function with a timer and a list state per row:
 * those were a third of each stage's time (two state writes, a state read and a timer-queue
 * insert and removal per row); a watermark here sorts the rows that became due at once. The rows
 * still waiting at a checkpoint go into keyed state ({@code pending}), so a restart or a rescale
 * brings each back to the subtask of its key; they are removed from it again at the next
 * watermark, the in-memory buffer being the live copy.
 *
 * <p>The key's history is dropped once no future row can need it: a cleanup timer at the end of
 * the week {@code horizonMs} after the key's last row finds it outdated and clears it. That bounds
 * the state by event time, whatever the replay speed.
 */
abstract class WatermarkOrderedOperator<H extends WatermarkOrderedOperator.History> extends AbstractStreamOperator<Row>
        implements OneInputStreamOperator<Row, Row>, Triggerable<String, VoidNamespace> {

    /** What a stage keeps of one key between rows (a Flink POJO: public fields, checkpointed as such). */
    public abstract static class History {
        /** When this key's cleanup timer fires (0: none is set). */
        public long cleanupAt;

        /** Drops what no row after {@code horizon} can count; whether anything is left. */
        abstract boolean keepAfter(long horizon);

        /** The newest event time the history holds (it has one). */
        abstract long lastTime();
    }

    static final long DAY = 86_400_000L;
    private static final long CLEANUP_GRAIN = 7 * DAY;

    private final RowTypeInfo rowType;
    private final Comparator<Row> order;
    private final int timeField;
    private final int keyField;
    protected final long horizonMs;
    private final Class<H> historyClass;

    private transient List<Row> buffer;
    private transient ListState<Row> pending;
    private transient Set<String> keysInPending;
    private transient InternalTimerService<VoidNamespace> cleanups;
    private transient StreamRecord<Row> out;
    private transient ValueState<H> history;

    WatermarkOrderedOperator(RowTypeInfo rowType, Comparator<Row> order, int timeField, int keyField, long horizonMs,
                             Class<H> historyClass) {
        this.historyClass = historyClass;
        this.rowType = rowType;
        this.order = order;
        this.timeField = timeField;
        this.keyField = keyField;
        this.horizonMs = horizonMs;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        ListStateDescriptor<Row> descriptor = new ListStateDescriptor<>("pending", rowType);
        pending = context.getKeyedStateStore().getListState(descriptor);
        buffer = new ArrayList<>();
        keysInPending = new HashSet<>();
        if (context.isRestored()) {
            getKeyedStateBackend().applyToAllKeys(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, descriptor,
                    (key, rows) -> {
                        for (Row row : rows.get()) {
                            buffer.add(row);
                        }
                        keysInPending.add((String) key);
                    });
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        cleanups = getInternalTimerService("cleanup", VoidNamespaceSerializer.INSTANCE, this);
        out = new StreamRecord<>(null);
        history = getKeyedStateStore().getState(new ValueStateDescriptor<>("history", TypeInformation.of(historyClass)));
    }

    @Override
    public void processElement(StreamRecord<Row> element) {
        buffer.add(element.getValue());
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        clearPending();
        long now = mark.getTimestamp();
        if (!buffer.isEmpty()) {
            List<Row> due = new ArrayList<>();
            List<Row> waiting = new ArrayList<>();
            for (Row row : buffer) {
                ((Long) row.getField(timeField) <= now ? due : waiting).add(row);
            }
            buffer = waiting;
            due.sort(order);
            for (Row row : due) {
                setCurrentKey(row.getField(keyField));
                take(row, (Long) row.getField(timeField));
            }
        }
        super.processWatermark(mark);  // fires the cleanup timers, then forwards the watermark
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        clearPending();
        for (Row row : buffer) {
            String key = (String) row.getField(keyField);
            setCurrentKey(key);
            pending.add(row);
            keysInPending.add(key);
        }
    }

    /** Removes from keyed state the rows the last checkpoint (or the restore) left there. */
    private void clearPending() {
        if (keysInPending.isEmpty()) {
            return;
        }
        for (String key : keysInPending) {
            setCurrentKey(key);
            pending.clear();
        }
        keysInPending.clear();
    }

    /** The current key's history (a new, empty one for a new key). */
    H history() throws Exception {
        H h = history.value();
        return h != null ? h : historyClass.getDeclaredConstructor().newInstance();
    }

    /**
     * Keeps the current key's history after a row at {@code time}: what no later row can need is
     * dropped, and a key with nothing left is removed; otherwise its cleanup timer is set.
     */
    void store(H h, long time) throws Exception {
        if (!h.keepAfter(time - horizonMs)) {
            history.clear();
            return;
        }
        if (h.cleanupAt == 0) {
            h.cleanupAt = cleanupTime(h.lastTime());
            cleanups.registerEventTimeTimer(VoidNamespace.INSTANCE, h.cleanupAt);
        }
        history.update(h);
    }

    /** A cleanup timer of the current key: drop its history if outdated, else look again later. */
    @Override
    public void onEventTime(InternalTimer<String, VoidNamespace> timer) throws Exception {
        H h = history.value();
        if (h == null || h.cleanupAt != timer.getTimestamp()) {
            return;
        }
        h.cleanupAt = 0;
        store(h, timer.getTimestamp());
    }

    @Override
    public void onProcessingTime(InternalTimer<String, VoidNamespace> timer) {}

    /** The end of the week in which a history whose last row is at {@code lastTime} expires. */
    private long cleanupTime(long lastTime) {
        return Math.floorDiv(lastTime + horizonMs, CLEANUP_GRAIN) * CLEANUP_GRAIN + CLEANUP_GRAIN;
    }

    void emit(Row row, long time) {
        output.collect(out.replace(row, time));
    }

    void emit(OutputTag<Row> tag, Row row, long time) {
        output.collect(tag, new StreamRecord<>(row, time));
    }

    /** Takes in one due row of the current key (rows come in order) and emits what it produces. */
    abstract void take(Row row, long time) throws Exception;
}
