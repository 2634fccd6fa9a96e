package io.streamscore.flink.validation;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.math.BigDecimal;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The fast path of {@link EventValidator}: reads a flat JSON object token by token, without a tree,
 * and accepts it only when every rule of the schema holds, checked in the same way.
 *
 * <p>It answers "valid" or "cannot tell"; it never refuses. Anything it does not handle (invalid
 * UTF-8, nested values, a repeated field, trailing content, a broken rule) is left to the tree
 * path, which also words the reason. So the two paths cannot disagree on a refusal, and the shared
 * cases and a randomised test (EventValidatorTest) check that they agree on acceptance. Reading
 * into a tree was half of the fraud job's validation time.
 */
final class FlatEventReader {

    /** A schema property compiled for the fast path. */
    record Rule(String name, String kind, BigDecimal minimum, BigDecimal maximum, int minLength, int maxLength,
                boolean dateTime, List<JsonNode> options) {
        static Rule of(String name, JsonNode rule) {
            List<JsonNode> options = new java.util.ArrayList<>();
            rule.path("enum").forEach(options::add);
            return new Rule(name, rule.path("type").asText(null),
                    rule.has("minimum") ? rule.get("minimum").decimalValue() : null,
                    rule.has("maximum") ? rule.get("maximum").decimalValue() : null,
                    rule.path("minLength").asInt(0), rule.has("maxLength") ? rule.get("maxLength").asInt() : Integer.MAX_VALUE,
                    "date-time".equals(rule.path("format").asText(null)), rule.has("enum") ? options : null);
        }
    }

    private static final JsonFactory FACTORY = new JsonFactory();
    private static final String ANY = "(any)";

    private final Rule[] rules;
    private final Map<String, Integer> index = new HashMap<>();
    private final boolean[] required;
    private final int eventTime;
    private final List<JsonNode> allowedVersions;

    FlatEventReader(List<Map.Entry<String, JsonNode>> properties, List<String> requiredNames, List<JsonNode> allowedVersions) {
        List<Rule> compiled = new java.util.ArrayList<>();
        for (Map.Entry<String, JsonNode> property : properties) {
            index.put(property.getKey(), compiled.size());
            compiled.add(Rule.of(property.getKey(), property.getValue()));
        }
        for (String name : requiredNames) {
            if (!index.containsKey(name)) {
                // Required but not described: only its presence is checked.
                index.put(name, compiled.size());
                compiled.add(new Rule(name, ANY, null, null, 0, Integer.MAX_VALUE, false, null));
            }
        }
        rules = compiled.toArray(new Rule[0]);
        required = new boolean[rules.length];
        for (String name : requiredNames) {
            required[index.get(name)] = true;
        }
        Integer at = index.get("event_time");
        eventTime = at == null ? -1 : at;
        this.allowedVersions = allowedVersions;
    }

    /** The event's fields when {@code payload} is certainly valid, else null (ask the tree path). */
    ValidEvent read(byte[] payload, Long recordTimestampMs) {
        if (!Utf8.wellFormed(payload)) {
            return null;
        }
        Object[] values = new Object[rules.length];
        try (JsonParser parser = FACTORY.createParser(payload)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            JsonToken token;
            while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
                Integer at = index.get(parser.currentName());
                JsonToken value = parser.nextToken();
                if (value == JsonToken.START_OBJECT || value == JsonToken.START_ARRAY) {
                    return null;
                }
                if (value == JsonToken.VALUE_NUMBER_INT || value == JsonToken.VALUE_NUMBER_FLOAT) {
                    if (!Double.isFinite(parser.getDoubleValue())) {
                        return null;
                    }
                }
                if (at == null) {
                    continue;  // extra fields are allowed
                }
                if (values[at] != null) {
                    return null;  // a repeated field: the tree keeps the last one
                }
                values[at] = switch (value) {
                    case VALUE_STRING -> parser.getText();
                    case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> parser.getDecimalValue();
                    case VALUE_TRUE -> Boolean.TRUE;
                    case VALUE_FALSE -> Boolean.FALSE;
                    default -> NULL;
                };
            }
            if (token != JsonToken.END_OBJECT || parser.nextToken() != null) {
                return null;
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return accepts(values, recordTimestampMs) ? new Flat(values) : null;
    }

    private static final Object NULL = new Object();

    private boolean accepts(Object[] values, Long recordTimestampMs) {
        for (int i = 0; i < rules.length; i++) {
            Object value = values[i];
            boolean absent = value == null || value == NULL;
            if (absent) {
                if (required[i]) {
                    return false;
                }
                continue;
            }
            Rule rule = rules[i];
            if (rule.name().equals("schema_version")) {
                if (!(value instanceof BigDecimal version) || !allowed(version)) {
                    return false;
                }
                continue;
            }
            if (!satisfies(rule, value)) {
                return false;
            }
        }
        if (recordTimestampMs != null && eventTime >= 0 && values[eventTime] instanceof String text) {
            Long eventMs = EventValidator.epochMillis(text);
            return eventMs != null && eventMs.longValue() == recordTimestampMs.longValue();
        }
        return true;
    }

    private boolean allowed(BigDecimal version) {
        for (JsonNode option : allowedVersions) {
            if (option.isNumber() && option.decimalValue().compareTo(version) == 0) {
                return true;
            }
        }
        return false;
    }

    private static boolean satisfies(Rule rule, Object value) {
        String kind = rule.kind();
        if (kind == null || kind.equals("object")) {
            return false;  // untyped or object properties: the tree path
        }
        switch (kind) {
            case ANY -> {
                return true;
            }
            case "string" -> {
                if (!(value instanceof String text)) {
                    return false;
                }
                int length = text.codePointCount(0, text.length());
                if (length < rule.minLength() || length > rule.maxLength()) {
                    return false;
                }
                if (rule.dateTime() && EventValidator.epochMillis(text) == null) {
                    return false;
                }
            }
            case "boolean" -> {
                if (!(value instanceof Boolean)) {
                    return false;
                }
            }
            case "number", "integer" -> {
                if (!(value instanceof BigDecimal number)) {
                    return false;
                }
                if (kind.equals("integer") && number.stripTrailingZeros().scale() > 0) {
                    return false;
                }
                if ((rule.minimum() != null && number.compareTo(rule.minimum()) < 0)
                        || (rule.maximum() != null && number.compareTo(rule.maximum()) > 0)) {
                    return false;
                }
            }
            default -> {
                return false;
            }
        }
        return rule.options() == null || inOptions(rule.options(), value);
    }

    private static boolean inOptions(List<JsonNode> options, Object value) {
        for (JsonNode option : options) {
            boolean equal = value instanceof String text ? option.isTextual() && option.asText().equals(text)
                    : value instanceof Boolean b ? option.isBoolean() && option.booleanValue() == b
                    : option.isNumber() && option.decimalValue().compareTo((BigDecimal) value) == 0;
            if (equal) {
                return true;
            }
        }
        return false;
    }

    /** A valid event read by the fast path: its properties' values by position. */
    private final class Flat implements ValidEvent {
        private final Object[] values;

        Flat(Object[] values) {
            this.values = values;
        }

        private Object field(String name) {
            Integer at = index.get(name);
            Object value = at == null ? null : values[at];
            return value == NULL ? null : value;
        }

        @Override
        public String text(String name) {
            Object value = field(name);
            return value == null ? null : value.toString();
        }

        @Override
        public Double number(String name) {
            Object value = field(name);
            return value == null ? null : ((BigDecimal) value).doubleValue();
        }

        @Override
        public Boolean bool(String name) {
            return (Boolean) field(name);
        }
    }
}
