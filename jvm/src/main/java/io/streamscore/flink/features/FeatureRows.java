package io.streamscore.flink.features;

import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.RowTypeInfo;
import org.apache.flink.types.Row;

import java.io.Serializable;
import java.util.Comparator;

/**
 * The rows that flow between the fraud job's feature stages, by position, with their types.
 *
 * <p>Positions instead of names: the stages read a handful of fields of every row, and a named
 * lookup is a hash-map probe each time.
 */
final class FeatureRows {

    private FeatureRows() {}

    private static final TypeInformation<byte[]> BYTES = PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO;

    /** A valid transaction or label, as the terminal stage receives it. */
    static final class Event {
        static final int RANK = 0;            // LABEL or TRANSACTION: labels go first at one instant
        static final int TRANSACTION_ID = 1;
        static final int CUSTOMER_ID = 2;
        static final int TERMINAL_ID = 3;
        static final int AMOUNT = 4;          // null for a label
        static final int EVENT_TIME = 5;
        static final int TX_TIME_MS = 6;      // a label's: the time of the transaction it labels
        static final int IS_FRAUD = 7;        // null for a transaction
        static final int KAFKA_KEY = 8;
        static final int PAYLOAD = 9;
        static final int PARTITION = 10;
        static final int OFFSET = 11;
        static final int TIME = 12;           // event time (ms): the record timestamp, kept for ordering

        static final int LABEL = 0;
        static final int TRANSACTION = 1;

        static final RowTypeInfo TYPE = new RowTypeInfo(
                new TypeInformation<?>[] {Types.INT, Types.STRING, Types.STRING, Types.STRING, Types.DOUBLE,
                        Types.STRING, Types.LONG, Types.BOOLEAN, BYTES, BYTES, Types.INT, Types.LONG, Types.LONG},
                new String[] {"rank", "transaction_id", "customer_id", "terminal_id", "amount", "event_time",
                        "tx_time_ms", "is_fraud", "kafka_key", "payload", "kafka_partition", "kafka_offset", "time"});

        private Event() {}
    }

    /** A transaction with its terminal features, as the customer stage receives it. */
    static final class WithTerminal {
        static final int TRANSACTION_ID = 0;
        static final int CUSTOMER_ID = 1;
        static final int TERMINAL_ID = 2;
        static final int AMOUNT = 3;
        static final int EVENT_TIME = 4;
        static final int TX_TIME_MS = 5;
        static final int KAFKA_KEY = 6;
        static final int PAYLOAD = 7;
        static final int PARTITION = 8;
        static final int OFFSET = 9;
        static final int TIME = 10;
        static final int FEATURES = 11;       // terminal_nb_tx_1, terminal_risk_1, ..._30: six doubles

        static final RowTypeInfo TYPE = new RowTypeInfo(
                new TypeInformation<?>[] {Types.STRING, Types.STRING, Types.STRING, Types.DOUBLE, Types.STRING,
                        Types.LONG, BYTES, BYTES, Types.INT, Types.LONG, Types.LONG,
                        Types.DOUBLE, Types.DOUBLE, Types.DOUBLE, Types.DOUBLE, Types.DOUBLE, Types.DOUBLE},
                new String[] {"transaction_id", "customer_id", "terminal_id", "amount", "event_time", "tx_time_ms",
                        "kafka_key", "payload", "kafka_partition", "kafka_offset", "time",
                        "terminal_nb_tx_1", "terminal_risk_1", "terminal_nb_tx_7", "terminal_risk_7",
                        "terminal_nb_tx_30", "terminal_risk_30"});

        private WithTerminal() {}
    }

    /** A scored-to-be transaction with all twelve window features: the stages' output. */
    static final class Features {
        static final String[] NAMES = {"customer_id", "transaction_id", "terminal_id", "amount", "event_time",
                "tx_time_ms", "kafka_key", "payload", "kafka_partition", "kafka_offset",
                "customer_nb_tx_1", "customer_avg_amount_1", "customer_nb_tx_7", "customer_avg_amount_7",
                "customer_nb_tx_30", "customer_avg_amount_30",
                "terminal_nb_tx_1", "terminal_risk_1", "terminal_nb_tx_7", "terminal_risk_7",
                "terminal_nb_tx_30", "terminal_risk_30"};
        static final int CUSTOMER_FEATURES = 10;
        static final int TERMINAL_FEATURES = 16;

        static final RowTypeInfo TYPE = new RowTypeInfo(
                new TypeInformation<?>[] {Types.STRING, Types.STRING, Types.STRING, Types.DOUBLE, Types.STRING,
                        Types.LONG, BYTES, BYTES, Types.INT, Types.LONG,
                        Types.DOUBLE, Types.DOUBLE, Types.DOUBLE, Types.DOUBLE, Types.DOUBLE, Types.DOUBLE,
                        Types.DOUBLE, Types.DOUBLE, Types.DOUBLE, Types.DOUBLE, Types.DOUBLE, Types.DOUBLE},
                NAMES);

        private Features() {}
    }

    /** An event refused by a stage: what the dead-letter topic needs of it. */
    static final class DeadLetter {
        static final RowTypeInfo TYPE = new RowTypeInfo(
                new TypeInformation<?>[] {BYTES, BYTES, Types.STRING, Types.INT, Types.LONG, Types.STRING},
                new String[] {"kafka_key", "payload", "kafka_topic", "kafka_partition", "kafka_offset", "error"});

        private DeadLetter() {}
    }

    /**
     * The order in which a stage takes in the rows the watermark has passed: event time, then rank
     * (labels before transactions of the same instant; -1 when there is none), then Kafka partition
     * and offset (arrival order within a partition: equal event times of one card keep the order
     * they were produced in).
     */
    record Order(int time, int rank, int partition, int offset) implements Comparator<Row>, Serializable {
        @Override
        public int compare(Row a, Row b) {
            int c = Long.compare((Long) a.getField(time), (Long) b.getField(time));
            if (c == 0 && rank >= 0) {
                c = Integer.compare((Integer) a.getField(rank), (Integer) b.getField(rank));
            }
            if (c == 0) {
                c = Integer.compare((Integer) a.getField(partition), (Integer) b.getField(partition));
            }
            return c != 0 ? c : Long.compare((Long) a.getField(offset), (Long) b.getField(offset));
        }
    }
}
