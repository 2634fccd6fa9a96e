package io.streamscore.flink.validation;

import org.apache.flink.table.functions.FunctionContext;

import java.util.HashMap;
import java.util.Map;

/**
 * The schema of each topic a job reads, from the job's parameters.
 *
 * <p>The Python job file sets {@code streamscore.schema-of.<topic>} to a schema name (e.g.
 * {@code fraud-labels}, the file stem in {@code schemas/}) and {@code streamscore.schema.<name>}
 * to that file's text, so the JVM applies exactly the schema the Python side validates with.
 */
public final class TopicSchemas {

    public static final String SCHEMA_OF = "streamscore.schema-of.";
    public static final String SCHEMA = "streamscore.schema.";

    private final FunctionContext context;
    private final Map<String, String> schemaNames = new HashMap<>();
    private final Map<String, EventValidator> validators = new HashMap<>();

    public TopicSchemas(FunctionContext context) {
        this.context = context;
    }

    /** The schema name of a topic, e.g. {@code transactions}. */
    public String schemaName(String topic) {
        return schemaNames.computeIfAbsent(topic, t -> {
            String name = context.getJobParameter(SCHEMA_OF + t, null);
            if (name == null) {
                throw new IllegalStateException("no schema configured for topic " + t + " (job parameter " + SCHEMA_OF + t + ")");
            }
            return name;
        });
    }

    public EventValidator validator(String topic) {
        return validators.computeIfAbsent(topic, t -> {
            String name = schemaName(t);
            String text = context.getJobParameter(SCHEMA + name, null);
            if (text == null) {
                throw new IllegalStateException("schema " + name + " is missing (job parameter " + SCHEMA + name + ")");
            }
            return new EventValidator(text);
        });
    }
}
