package io.streamscore.flink.sentiment;

import org.apache.flink.table.annotation.ArgumentHint;
import org.apache.flink.table.annotation.ArgumentTrait;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.annotation.StateHint;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ProcessTableFunction;
import org.apache.flink.types.Row;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

import java.time.LocalDateTime;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Negative-sentiment spikes of one entity against its own history.
 *
 * <p>Input: the entity's window aggregates (partitioned by entity, {@code on_time} the window
 * time), which arrive in window order because each window fires when the watermark passes it.
 * The baseline is an exponentially weighted mean and deviation of the negative share of the
 * entity's earlier windows (West's incremental EWMA variance). A window is a spike when
 *
 * <ul>
 *   <li>it holds at least {@code min-count} documents (a share of 2 out of 3 is noise),
 *   <li>the baseline has seen at least {@code min-windows} earlier windows, and
 *   <li>its negative share exceeds the baseline by {@code sigmas} deviations and by at least
 *       {@code min-jump} (the floor that keeps a near-constant history from alerting on a wobble).
 * </ul>
 *
 * <p>Every window is emitted with its baseline; {@code reason} is set for a spike. The window then
 * joins the baseline, so a lasting shift becomes the new normal instead of alerting forever.
 *
 * <p>Job parameters {@code streamscore.sentiment.spike.*}: {@code min-count}, {@code min-windows},
 * {@code alpha}, {@code sigmas}, {@code min-jump}.
 *
 * <p>Metrics per entity (group {@code entity}): the last window's {@code sentiment_negative_share},
 * {@code sentiment_documents} and {@code sentiment_baseline}, and the {@code sentiment_alerts} count.
 */
@FunctionHint(output = @DataTypeHint(
        "ROW<window_start TIMESTAMP(3), window_end TIMESTAMP(3), doc_count BIGINT, mean_negative DOUBLE, "
                + "negative_share DOUBLE, model_version STRING, baseline DOUBLE, deviation DOUBLE, "
                + "baseline_windows INT, reason STRING>"))
public class SpikeDetector extends ProcessTableFunction<Row> {

    private transient long minCount;
    private transient int minWindows;
    private transient double alpha;
    private transient double sigmas;
    private transient double minJump;
    private transient MetricGroup metrics;
    private transient Map<String, EntityMetrics> entityMetrics;

    /** The last window of an entity, as this subtask saw it, for the gauges. */
    private static final class EntityMetrics {
        volatile double negativeShare;
        volatile long documents;
        volatile double baseline = Double.NaN;
        Counter alerts;
    }

    /** An entity's baseline: EWMA of the negative share, its variance, and how many windows fed it. */
    public static class Baseline {
        public double mean;
        public double variance;
        public int windows;
    }

    @Override
    public void open(FunctionContext context) {
        String prefix = "streamscore.sentiment.spike.";
        minCount = Long.parseLong(context.getJobParameter(prefix + "min-count", "5"));
        minWindows = Integer.parseInt(context.getJobParameter(prefix + "min-windows", "3"));
        alpha = Double.parseDouble(context.getJobParameter(prefix + "alpha", "0.3"));
        sigmas = Double.parseDouble(context.getJobParameter(prefix + "sigmas", "3.0"));
        minJump = Double.parseDouble(context.getJobParameter(prefix + "min-jump", "0.3"));
        metrics = context.getMetricGroup();
        entityMetrics = new HashMap<>();
    }

    private EntityMetrics metricsOf(String entity) {
        return entityMetrics.computeIfAbsent(entity, e -> {
            EntityMetrics m = new EntityMetrics();
            MetricGroup group = metrics.addGroup("entity", e);
            group.gauge("sentiment_negative_share", () -> m.negativeShare);
            group.gauge("sentiment_documents", () -> m.documents);
            group.gauge("sentiment_baseline", () -> m.baseline);
            m.alerts = group.counter("sentiment_alerts");
            return m;
        });
    }

    public void eval(@StateHint Baseline baseline,
                     @ArgumentHint({ArgumentTrait.SET_SEMANTIC_TABLE, ArgumentTrait.REQUIRE_ON_TIME}) Row input) {
        long count = ((Number) input.getField("doc_count")).longValue();
        double share = ((Number) input.getField("negative_share")).doubleValue();
        boolean known = baseline.windows >= minWindows;
        double deviation = Math.sqrt(baseline.variance);
        String reason = null;
        if (known && count >= minCount) {
            double threshold = baseline.mean + Math.max(sigmas * deviation, minJump);
            if (share > threshold) {
                reason = String.format(Locale.ROOT,
                        "negative_spike: negative share %.2f over %d documents > threshold %.2f "
                                + "(baseline %.2f + max(%.1f x deviation %.2f, %.2f), %d earlier windows)",
                        share, count, threshold, baseline.mean, sigmas, deviation, minJump, baseline.windows);
            }
        }
        EntityMetrics m = metricsOf((String) input.getField("entity"));
        m.negativeShare = share;
        m.documents = count;
        m.baseline = baseline.windows == 0 ? Double.NaN : baseline.mean;
        if (reason != null) {
            m.alerts.inc();
        }
        collect(Row.of((LocalDateTime) input.getField("window_start"), (LocalDateTime) input.getField("window_end"),
                count, input.getField("mean_negative"), share, input.getField("model_version"),
                baseline.windows == 0 ? null : baseline.mean, baseline.windows == 0 ? null : deviation,
                baseline.windows, reason));
        update(baseline, share);
    }

    private void update(Baseline baseline, double share) {
        if (baseline.windows == 0) {
            baseline.mean = share;
            baseline.variance = 0.0;
        } else {
            double difference = share - baseline.mean;
            double increment = alpha * difference;
            baseline.mean += increment;
            baseline.variance = (1 - alpha) * (baseline.variance + difference * increment);
        }
        baseline.windows++;
    }
}
