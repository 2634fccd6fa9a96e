package io.streamscore.flink.redis;

import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * One hash write of the Redis sink: the key, its versions and the script's arguments. Writes not
 * yet acknowledged by Redis at a checkpoint are kept in it ({@link Serializer}) and sent again
 * after a restore; the version check makes a repeat a no-op.
 */
record PendingWrite(String key, long version, long version2, String[] arguments) {

    /** Whether the script would apply this write over {@code other} (equal versions are no-ops). */
    boolean supersedes(PendingWrite other) {
        return version > other.version || (version == other.version && version2 > other.version2);
    }

    static final class Serializer implements SimpleVersionedSerializer<PendingWrite> {

        @Override
        public int getVersion() {
            return 1;
        }

        @Override
        public byte[] serialize(PendingWrite write) throws IOException {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + 16 * write.arguments.length);
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                out.writeUTF(write.key);
                out.writeLong(write.version);
                out.writeLong(write.version2);
                out.writeInt(write.arguments.length);
                for (String argument : write.arguments) {
                    out.writeUTF(argument);
                }
            }
            return bytes.toByteArray();
        }

        @Override
        public PendingWrite deserialize(int version, byte[] serialized) throws IOException {
            if (version != 1) {
                throw new IOException("unknown Redis sink state version " + version);
            }
            try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
                String key = in.readUTF();
                long first = in.readLong();
                long second = in.readLong();
                String[] arguments = new String[in.readInt()];
                for (int i = 0; i < arguments.length; i++) {
                    arguments[i] = in.readUTF();
                }
                return new PendingWrite(key, first, second, arguments);
            }
        }
    }
}
