package io.streamscore.flink.kafka;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A source whose readers create each split's output (and so its place in the watermark) as soon
 * as the split is assigned, instead of when its first record arrives, and that keeps the clock
 * its splits' idleness is measured on ({@link UnblockedTime}). Everything else is the wrapped
 * source's.
 */
public class EagerSplitOutputs<T, SplitT extends SourceSplit, EnumT>
        implements Source<T, SplitT, EnumT>, ResultTypeQueryable<T> {

    private final Source<T, SplitT, EnumT> source;
    private final TypeInformation<T> producedType;

    public EagerSplitOutputs(Source<T, SplitT, EnumT> source, TypeInformation<T> producedType) {
        this.source = source;
        this.producedType = producedType;
    }

    @Override
    public Boundedness getBoundedness() {
        return source.getBoundedness();
    }

    @Override
    public SourceReader<T, SplitT> createReader(SourceReaderContext context) throws Exception {
        return new Reader<>(source.createReader(context));
    }

    @Override
    public SplitEnumerator<SplitT, EnumT> createEnumerator(SplitEnumeratorContext<SplitT> context) throws Exception {
        return source.createEnumerator(context);
    }

    @Override
    public SplitEnumerator<SplitT, EnumT> restoreEnumerator(SplitEnumeratorContext<SplitT> context, EnumT checkpoint)
            throws Exception {
        return source.restoreEnumerator(context, checkpoint);
    }

    @Override
    public SimpleVersionedSerializer<SplitT> getSplitSerializer() {
        return source.getSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<EnumT> getEnumeratorCheckpointSerializer() {
        return source.getEnumeratorCheckpointSerializer();
    }

    @Override
    public TypeInformation<T> getProducedType() {
        return producedType;
    }

    private static final class Reader<T, SplitT extends SourceSplit> implements SourceReader<T, SplitT> {

        private final SourceReader<T, SplitT> reader;
        private final List<String> unregistered = new ArrayList<>();
        private final UnblockedTime clock;

        Reader(SourceReader<T, SplitT> reader) {
            this.reader = reader;
            this.clock = UnblockedTime.forNewReader(() -> reader.isAvailable().isDone());
        }

        @Override
        public void start() {
            reader.start();
        }

        @Override
        public InputStatus pollNext(ReaderOutput<T> output) throws Exception {
            clock.polling();
            if (!unregistered.isEmpty()) {
                // Creating a split's output is idempotent; the wrapped reader gets the same one.
                unregistered.forEach(output::createOutputForSplit);
                unregistered.clear();
            }
            InputStatus status = reader.pollNext(output);
            clock.polled(status == InputStatus.MORE_AVAILABLE);
            return status;
        }

        @Override
        public List<SplitT> snapshotState(long checkpointId) {
            return reader.snapshotState(checkpointId);
        }

        @Override
        public CompletableFuture<Void> isAvailable() {
            return reader.isAvailable();
        }

        @Override
        public void addSplits(List<SplitT> splits) {
            splits.forEach(split -> unregistered.add(split.splitId()));
            reader.addSplits(splits);
        }

        @Override
        public void notifyNoMoreSplits() {
            reader.notifyNoMoreSplits();
        }

        @Override
        public void handleSourceEvents(SourceEvent sourceEvent) {
            reader.handleSourceEvents(sourceEvent);
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) throws Exception {
            reader.notifyCheckpointComplete(checkpointId);
        }

        @Override
        public void notifyCheckpointAborted(long checkpointId) throws Exception {
            reader.notifyCheckpointAborted(checkpointId);
        }

        @Override
        public void pauseOrResumeSplits(java.util.Collection<String> toPause, java.util.Collection<String> toResume) {
            reader.pauseOrResumeSplits(toPause, toResume);
        }

        @Override
        public void close() throws Exception {
            reader.close();
        }
    }
}
