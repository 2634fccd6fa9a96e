package io.streamscore.flink.functions;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Counts a dead letter by stage and reason code (the text before the first colon) and returns the
 * reason unchanged: {@code count_dead_letter('validate', error)} in the dead-letter query gives the
 * metric {@code dead_letters{stage="validate", reason="missing_field"}} without another operator.
 *
 * <p>The counters of every known reason of the job's stages (job parameter
 * {@code streamscore.dead-letter.stages}) exist from the start at 0: a counter born with its
 * first burst would hide that burst from Prometheus' {@code rate()}, and from the alert on it.
 */
public class CountDeadLetter extends ScalarFunction {

    static final Map<String, List<String>> KNOWN_REASONS = Map.of(
            "validate", List.of("malformed_json", "payload_too_large", "invalid_utf8", "not_an_object",
                    "unknown_schema_version", "missing_field", "wrong_type", "invalid_value", "out_of_range",
                    "event_time_mismatch", "empty_text", "late_event"),
            "features", List.of("duplicate_event"),
            "dedup", List.of("duplicate_text"),
            "inference", List.of("inference_error", "missing_feature", "non_finite_feature", "empty_text"));

    private transient MetricGroup metrics;
    private transient Map<String, Counter> counters;

    @Override
    public void open(FunctionContext context) {
        metrics = context.getMetricGroup();
        counters = new HashMap<>();
        for (String stage : context.getJobParameter("streamscore.dead-letter.stages", "").split(",")) {
            for (String reason : KNOWN_REASONS.getOrDefault(stage.strip(), List.of())) {
                counter(stage.strip(), reason);
            }
        }
    }

    public String eval(String stage, String error) {
        if (error != null) {
            counter(stage, error.contains(":") ? error.substring(0, error.indexOf(':')) : error).inc();
        }
        return error;
    }

    private Counter counter(String stage, String reason) {
        return counters.computeIfAbsent(stage + "/" + reason,
                key -> metrics.addGroup("stage", stage).addGroup("reason", reason).counter("dead_letters"));
    }

    @Override
    public boolean isDeterministic() {
        return false;
    }
}
