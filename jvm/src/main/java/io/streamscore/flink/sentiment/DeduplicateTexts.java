package io.streamscore.flink.sentiment;

import io.streamscore.flink.validation.EventValidator;
import org.apache.flink.table.annotation.ArgumentHint;
import org.apache.flink.table.annotation.ArgumentTrait;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.annotation.StateHint;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ProcessTableFunction;
import org.apache.flink.types.Row;

/**
 * Repeated texts within a horizon of event time: the first is kept, every repeat is refused with
 * {@code duplicate_text} naming the first (so it reaches the dead-letter topic, not the model).
 *
 * <p>Input partitioned by the de-duplication key, {@code on_time} the event time. The state of a
 * key is one id and one time, dropped by an event-time timer when the horizon has passed, so the
 * state holds only the texts of the last horizon. Rows are taken as they arrive: within the
 * source's out-of-orderness bound, the one that arrives first counts as the original.
 *
 * <p>Job parameter: {@code streamscore.sentiment.dedup-horizon-ms}.
 */
@FunctionHint(output = @DataTypeHint(
        "ROW<id STRING, text STRING, entity STRING, source STRING, event_time STRING, time_ms BIGINT, "
                + "kafka_key BYTES, payload BYTES, kafka_topic STRING, kafka_partition INT, kafka_offset BIGINT, error STRING>"))
public class DeduplicateTexts extends ProcessTableFunction<Row> {

    private static final String[] FIELDS = {"id", "text", "entity", "source", "event_time", "time_ms",
            "kafka_key", "payload", "kafka_topic", "kafka_partition", "kafka_offset"};

    private transient long horizonMs;

    /** The first occurrence of a text within the horizon. */
    public static class FirstSeen {
        public String id;
        public Long timeMs;
    }

    @Override
    public void open(FunctionContext context) {
        horizonMs = Long.parseLong(context.getJobParameter("streamscore.sentiment.dedup-horizon-ms", "3600000"));
    }

    public void eval(Context ctx, @StateHint FirstSeen first,
                     @ArgumentHint({ArgumentTrait.SET_SEMANTIC_TABLE, ArgumentTrait.REQUIRE_ON_TIME}) Row input) {
        TimeContext<Long> time = ctx.timeContext(Long.class);
        long now = time.time();
        String error = null;
        if (first.id != null && now < first.timeMs + horizonMs) {
            error = "duplicate_text: same text as " + first.id + " at " + EventValidator.isoMillis(first.timeMs);
        } else {
            first.id = (String) input.getField("id");
            first.timeMs = now;
            time.registerOnTime("expire", now + horizonMs);
        }
        Row out = new Row(FIELDS.length + 1);
        for (int i = 0; i < FIELDS.length; i++) {
            out.setField(i, input.getField(FIELDS[i]));
        }
        out.setField(FIELDS.length, error);
        collect(out);
    }

    public void onTimer(OnTimerContext ctx, FirstSeen first) {
        if (first.timeMs != null && ctx.timeContext(Long.class).time() >= first.timeMs + horizonMs) {
            ctx.clearAll();
        }
    }
}
