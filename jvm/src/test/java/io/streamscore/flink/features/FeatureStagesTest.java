package io.streamscore.flink.features;

import io.streamscore.flink.features.FeatureRows.Event;
import io.streamscore.flink.features.FeatureRows.Features;
import io.streamscore.flink.features.FeatureRows.WithTerminal;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.types.Row;
import org.apache.flink.util.OutputTag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The feature stages as operators: order, checkpoints of rows in waiting, cleanup by event time. */
class FeatureStagesTest {

    private static final long DAY = WatermarkOrderedOperator.DAY;
    private static final long DELAY = 7 * DAY;

    private static Row transaction(String id, String customer, long time, int partition, long offset, double amount) {
        return Row.of(Event.TRANSACTION, id, customer, "T1", amount, "t" + time, time, null, new byte[0], new byte[0],
                partition, offset, time);
    }

    private static Row label(String id, long txTime, long time) {
        return Row.of(Event.LABEL, id, "C1", "T1", null, "t" + time, txTime, true, new byte[0], new byte[0], 0, 0L, time);
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, Row, Row> terminal() throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(
                new TerminalRiskStage(DELAY, new OutputTag<>("duplicates", FeatureRows.DeadLetter.TYPE), "transactions"),
                row -> (String) row.getField(Event.TERMINAL_ID), Types.STRING);
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, Row, Row> customer() throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(new CustomerSpendStage(),
                row -> (String) row.getField(WithTerminal.CUSTOMER_ID), Types.STRING);
    }

    private static Row withTerminal(String id, long time, int partition, long offset, double amount) {
        Row row = new Row(WithTerminal.TYPE.getArity());
        row.setField(WithTerminal.TRANSACTION_ID, id);
        row.setField(WithTerminal.CUSTOMER_ID, "C1");
        row.setField(WithTerminal.TERMINAL_ID, "T1");
        row.setField(WithTerminal.AMOUNT, amount);
        row.setField(WithTerminal.EVENT_TIME, "t" + time);
        row.setField(WithTerminal.TX_TIME_MS, time);
        row.setField(WithTerminal.PARTITION, partition);
        row.setField(WithTerminal.OFFSET, offset);
        row.setField(WithTerminal.TIME, time);
        for (int i = 0; i < 6; i++) {
            row.setField(WithTerminal.FEATURES + i, 0.0);
        }
        return row;
    }

    private static List<String> ids(KeyedOneInputStreamOperatorTestHarness<String, Row, Row> harness, int field) {
        return harness.extractOutputValues().stream().map(r -> (String) r.getField(field)).collect(Collectors.toList());
    }

    @Test
    void rowsAreTakenInByTimeThenPartitionAndOffsetOnceTheWatermarkPassesThem() throws Exception {
        try (var harness = customer()) {
            harness.open();
            harness.processElement(withTerminal("c", 2_000, 0, 5, 30.0), 2_000);
            harness.processElement(withTerminal("b", 1_000, 1, 9, 20.0), 1_000);
            harness.processElement(withTerminal("a", 1_000, 0, 7, 10.0), 1_000);
            harness.processElement(withTerminal("later", 9_000, 0, 8, 40.0), 9_000);
            assertTrue(harness.extractOutputValues().isEmpty(), "nothing before the watermark");
            harness.processWatermark(2_000);
            assertEquals(List.of("a", "b", "c"), ids(harness, 1));
            // Each row's windows hold the rows before it and itself: a, then a + b, then all three.
            List<Double> means = harness.extractOutputValues().stream()
                    .map(r -> (Double) r.getField(Features.CUSTOMER_FEATURES + 1)).collect(Collectors.toList());
            assertEquals(List.of(10.0, 15.0, 20.0), means);
        }
    }

    @Test
    void rowsWaitingAtACheckpointComeOutOnceAfterARestore() throws Exception {
        OperatorSubtaskState snapshot;
        try (var harness = customer()) {
            harness.open();
            harness.processElement(withTerminal("a", 1_000, 0, 1, 10.0), 1_000);
            harness.processElement(withTerminal("b", 5_000, 0, 2, 20.0), 5_000);
            harness.processWatermark(1_000);
            snapshot = harness.snapshot(1, 1);
            // Work after the checkpoint is lost with the failure.
            harness.processWatermark(6_000);
        }
        try (var restored = customer()) {
            restored.initializeState(snapshot);
            restored.open();
            restored.processWatermark(6_000);
            assertEquals(List.of("b"), ids(restored, 1));
            assertEquals(2.0, restored.extractOutputValues().get(0).getField(Features.CUSTOMER_FEATURES));
            // A second checkpoint holds only the history: the pending row was taken in.
            OperatorSubtaskState second = restored.snapshot(2, 2);
            try (var again = customer()) {
                again.initializeState(second);
                again.open();
                again.processWatermark(Long.MAX_VALUE);
                assertTrue(again.extractOutputValues().isEmpty(), "a row came out twice");
            }
        }
    }

    @Test
    void aTerminalCountsALabelFromItsArrivalAndRefusesARepeatedTransaction() throws Exception {
        try (var harness = terminal()) {
            harness.open();
            long t0 = 100 * DAY;
            harness.processElement(transaction("1", "C1", t0, 0, 1, 5.0), t0);
            harness.processElement(label("1", t0, t0 + DELAY), t0 + DELAY);
            harness.processElement(transaction("2", "C2", t0 + DELAY, 1, 1, 5.0), t0 + DELAY);
            harness.processElement(transaction("2", "C2", t0 + DELAY + 1, 1, 2, 5.0), t0 + DELAY + 1);
            harness.processWatermark(t0 + DELAY + 1);
            List<Row> out = harness.extractOutputValues();
            assertEquals(List.of("1", "2"), ids(harness, WithTerminal.TRANSACTION_ID));
            // Transaction 2 comes exactly the delay after 1, so 1 falls in its 1-day window.
            assertEquals(1.0, out.get(1).getField(WithTerminal.FEATURES));
            assertEquals(1.0, out.get(1).getField(WithTerminal.FEATURES + 1), "the label counts");
            assertEquals(1, harness.getSideOutput(new OutputTag<>("duplicates", FeatureRows.DeadLetter.TYPE)).size());
        }
    }

    @Test
    void aKeysHistoryIsDroppedOnceEventTimePassesItsHorizon() throws Exception {
        try (var harness = customer()) {
            harness.open();
            harness.processElement(withTerminal("a", DAY, 0, 1, 10.0), DAY);
            harness.processWatermark(DAY);
            assertTrue(harness.numKeyedStateEntries() > 0);
            harness.processWatermark(DAY + 31 * DAY + 7 * DAY);
            assertEquals(0, harness.numKeyedStateEntries());
        }
    }
}
