package io.streamscore.flink.features;

import java.util.Arrays;

/**
 * Sorted event times (and values) of one key, in primitive arrays so the state stays compact.
 * Windows are half-open on the left, {@code (from, to]}, as in the handbook's rolling windows.
 */
final class TimeSeries {

    private TimeSeries() {}

    static final long[] NO_TIMES = new long[0];
    static final double[] NO_VALUES = new double[0];

    /** Index of the first time greater than {@code bound}. */
    static int firstAfter(long[] times, long bound) {
        int low = 0;
        int high = times.length;
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (times[mid] <= bound) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return low;
    }

    /** How many times fall in {@code (from, to]}. */
    static int count(long[] times, long from, long to) {
        return Math.max(0, firstAfter(times, to) - firstAfter(times, from));
    }

    /** Sum of the values whose times fall in {@code (from, to]}, added oldest first. */
    static double sum(long[] times, double[] values, long from, long to) {
        double total = 0;
        for (int i = firstAfter(times, from), end = firstAfter(times, to); i < end; i++) {
            total += values[i];
        }
        return total;
    }

    /** {@code times} with {@code time} inserted in order (after equal times). */
    static long[] insert(long[] times, long time) {
        int at = firstAfter(times, time);
        long[] grown = new long[times.length + 1];
        System.arraycopy(times, 0, grown, 0, at);
        grown[at] = time;
        System.arraycopy(times, at, grown, at + 1, times.length - at);
        return grown;
    }

    /** The suffix of {@code times} after {@code bound} (older entries can no longer matter). */
    static long[] after(long[] times, long bound) {
        int from = firstAfter(times, bound);
        return from == 0 ? times : Arrays.copyOfRange(times, from, times.length);
    }

    static double[] after(long[] times, double[] values, long bound) {
        int from = firstAfter(times, bound);
        return from == 0 ? values : Arrays.copyOfRange(values, from, values.length);
    }
}
