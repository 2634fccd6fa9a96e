package io.streamscore.flink.functions;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;

import java.util.HashMap;
import java.util.Map;

/**
 * Counts a dead letter by stage and reason code (the text before the first colon) and returns the
 * reason unchanged: {@code count_dead_letter('validate', error)} in the dead-letter query gives the
 * metric {@code dead_letters{stage="validate", reason="missing_field"}} without another operator.
 */
public class CountDeadLetter extends ScalarFunction {

    private transient MetricGroup metrics;
    private transient Map<String, Counter> counters;

    @Override
    public void open(FunctionContext context) {
        metrics = context.getMetricGroup();
        counters = new HashMap<>();
    }

    public String eval(String stage, String error) {
        if (error != null) {
            String reason = error.contains(":") ? error.substring(0, error.indexOf(':')) : error;
            counters.computeIfAbsent(stage + "/" + reason,
                    key -> metrics.addGroup("stage", stage).addGroup("reason", reason).counter("dead_letters")).inc();
        }
        return error;
    }

    @Override
    public boolean isDeterministic() {
        return false;
    }
}
