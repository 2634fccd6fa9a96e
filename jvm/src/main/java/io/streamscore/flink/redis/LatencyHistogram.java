package io.streamscore.flink.redis;

import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.HistogramStatistics;

import java.util.Arrays;

/** The last {@code size} values, for quantile gauges in Prometheus (exported as a summary). */
final class LatencyHistogram implements Histogram {

    private final long[] values;
    private long count;

    LatencyHistogram(int size) {
        this.values = new long[size];
    }

    @Override
    public synchronized void update(long value) {
        values[(int) (count++ % values.length)] = value;
    }

    @Override
    public long getCount() {
        return count;
    }

    @Override
    public synchronized HistogramStatistics getStatistics() {
        long[] sorted = Arrays.copyOf(values, (int) Math.min(count, values.length));
        Arrays.sort(sorted);
        return new HistogramStatistics() {
            @Override
            public double getQuantile(double quantile) {
                return sorted.length == 0 ? 0 : sorted[(int) Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))];
            }

            @Override
            public long[] getValues() {
                return sorted;
            }

            @Override
            public int size() {
                return sorted.length;
            }

            @Override
            public double getMean() {
                return Arrays.stream(sorted).average().orElse(0);
            }

            @Override
            public double getStdDev() {
                double mean = getMean();
                return Math.sqrt(Arrays.stream(sorted).mapToDouble(v -> (v - mean) * (v - mean)).average().orElse(0));
            }

            @Override
            public long getMax() {
                return sorted.length == 0 ? 0 : sorted[sorted.length - 1];
            }

            @Override
            public long getMin() {
                return sorted.length == 0 ? 0 : sorted[0];
            }
        };
    }
}
