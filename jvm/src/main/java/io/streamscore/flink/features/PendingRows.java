package io.streamscore.flink.features;

import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.types.Row;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Rows of one key that wait for the watermark, kept as one byte array in the key's state.
 *
 * <p>A process table function in Flink 2.2 sees rows as they arrive, in no defined order across
 * partitions or for equal timestamps. The feature stages buffer rows here and, when the watermark
 * passes their time, take them in (time, rank, Kafka partition, Kafka offset) order: rank puts
 * labels before transactions of the same instant, and the offset is the arrival order within a
 * partition. One byte array per key keeps RocksDB to one read and one write per row.
 */
public final class PendingRows {

    /** Field kinds of the buffered rows, by position. */
    public enum Kind { STRING, DOUBLE, LONG, INT, BOOLEAN, BYTES }

    /** A buffered row with the keys it is ordered by. */
    public record Entry(long time, int rank, int partition, long offset, Row row) {}

    static final Comparator<Entry> ORDER = Comparator.comparingLong(Entry::time)
            .thenComparingInt(Entry::rank).thenComparingInt(Entry::partition).thenComparingLong(Entry::offset);

    private final Kind[] kinds;

    public PendingRows(Kind... kinds) {
        this.kinds = kinds;
    }

    /** {@code buffer} with {@code entry} appended. */
    public byte[] append(byte[] buffer, Entry entry) {
        DataOutputSerializer out = new DataOutputSerializer(256 + (buffer == null ? 0 : buffer.length));
        try {
            if (buffer != null) {
                out.write(buffer);
            }
            write(out, entry);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.getCopyOfBuffer();
    }

    /** The entries at or before {@code time}, in order, and the buffer of those still waiting. */
    public Split takeUpTo(byte[] buffer, long time) {
        List<Entry> due = new ArrayList<>();
        List<Entry> waiting = new ArrayList<>();
        if (buffer != null) {
            DataInputDeserializer in = new DataInputDeserializer(buffer);
            try {
                while (in.available() > 0) {
                    Entry entry = read(in);
                    (entry.time() <= time ? due : waiting).add(entry);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        due.sort(ORDER);
        byte[] rest = null;
        for (Entry entry : waiting) {
            rest = append(rest, entry);
        }
        return new Split(due, rest);
    }

    public record Split(List<Entry> due, byte[] waiting) {}

    private void write(DataOutputSerializer out, Entry entry) throws IOException {
        out.writeLong(entry.time());
        out.writeInt(entry.rank());
        out.writeInt(entry.partition());
        out.writeLong(entry.offset());
        Row row = entry.row();
        for (int i = 0; i < kinds.length; i++) {
            Object value = row.getField(i);
            out.writeBoolean(value != null);
            if (value == null) {
                continue;
            }
            switch (kinds[i]) {
                case STRING -> {
                    byte[] utf8 = ((String) value).getBytes(StandardCharsets.UTF_8);
                    out.writeInt(utf8.length);
                    out.write(utf8);
                }
                case DOUBLE -> out.writeDouble((Double) value);
                case LONG -> out.writeLong((Long) value);
                case INT -> out.writeInt((Integer) value);
                case BOOLEAN -> out.writeBoolean((Boolean) value);
                case BYTES -> {
                    byte[] bytes = (byte[]) value;
                    out.writeInt(bytes.length);
                    out.write(bytes);
                }
            }
        }
    }

    private Entry read(DataInputDeserializer in) throws IOException {
        long time = in.readLong();
        int rank = in.readInt();
        int partition = in.readInt();
        long offset = in.readLong();
        Row row = new Row(kinds.length);
        for (int i = 0; i < kinds.length; i++) {
            if (!in.readBoolean()) {
                continue;
            }
            row.setField(i, switch (kinds[i]) {
                case STRING -> {
                    byte[] utf8 = new byte[in.readInt()];
                    in.readFully(utf8);
                    yield new String(utf8, StandardCharsets.UTF_8);
                }
                case DOUBLE -> in.readDouble();
                case LONG -> in.readLong();
                case INT -> in.readInt();
                case BOOLEAN -> in.readBoolean();
                case BYTES -> {
                    byte[] bytes = new byte[in.readInt()];
                    in.readFully(bytes);
                    yield bytes;
                }
            });
        }
        return new Entry(time, rank, partition, offset, row);
    }
}
