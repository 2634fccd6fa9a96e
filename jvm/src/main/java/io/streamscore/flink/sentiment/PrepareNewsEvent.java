package io.streamscore.flink.sentiment;

import io.streamscore.flink.validation.EventValidator;
import io.streamscore.flink.validation.TopicSchemas;
import io.streamscore.flink.validation.ValidEvent;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;
import org.apache.flink.types.Row;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Locale;

/**
 * One {@code news} message in, what the sentiment job needs out: validated against the topic's
 * schema, the text cleaned ({@link TextCleaner}), the entity resolved ({@link EntityDictionary})
 * and a de-duplication key (SHA-256 of the cleaned, lower-cased text). One JSON parse per event.
 *
 * <p>SQL: {@code prepare_news_event(topic, payload, rowtime)}; {@code error} is set, and every
 * other field null, when the event is refused (its schema, or no text left after cleaning).
 *
 * <p>Job parameters: {@code streamscore.sentiment.entities} (the dictionary's JSON),
 * {@code streamscore.sentiment.unresolved-entity}, {@code streamscore.sentiment.max-text-chars}.
 */
@FunctionHint(output = @DataTypeHint(
        "ROW<error STRING, id STRING, text STRING, entity STRING, source STRING, event_time STRING, time_ms BIGINT, "
                + "dedup_key STRING>"))
public class PrepareNewsEvent extends ScalarFunction {

    private transient TopicSchemas schemas;
    private transient EntityDictionary entities;
    private transient int maxChars;

    @Override
    public void open(FunctionContext context) {
        schemas = new TopicSchemas(context);
        entities = new EntityDictionary(context.getJobParameter("streamscore.sentiment.entities", "{}"),
                context.getJobParameter("streamscore.sentiment.unresolved-entity", "unresolved"));
        maxChars = Integer.parseInt(context.getJobParameter("streamscore.sentiment.max-text-chars", "1000"));
    }

    public Row eval(String topic, byte[] payload, Instant rowtime) {
        EventValidator.Outcome outcome = schemas.validator(topic).check(payload, rowtime.toEpochMilli());
        if (!outcome.valid()) {
            return refused(outcome.reason());
        }
        ValidEvent event = outcome.event();
        String text = TextCleaner.clean(event.text("text"), maxChars);
        if (text.isEmpty()) {
            return refused("empty_text: nothing is left after removing markup, URLs and control characters");
        }
        return Row.of(null, event.text("id"), text, entities.resolve(event.text("entity"), text),
                event.text("source"), event.text("event_time"), rowtime.toEpochMilli(), dedupKey(text));
    }

    private static Row refused(String reason) {
        return Row.of(reason, null, null, null, null, null, null, null);
    }

    static String dedupKey(String cleanText) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(cleanText.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
