package io.streamscore.flink.validation;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.DateTimeException;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The JVM twin of {@code schemas/validation.py}: the same JSON Schema subset, the same order of
 * checks and the same reasons ({@code "<code>: <detail>"}), so a job dead-letters exactly what a
 * producer would refuse. {@code tests/cases/validation.jsonl} holds the cases both must agree on.
 *
 * <p>A validator is built once from a schema's text and is thread-compatible (no mutable state).
 */
public final class EventValidator {

    public static final int MAX_PAYLOAD_BYTES = 256 * 1024;
    private static final int SCHEMA_VERSION = 1;
    private static final Set<String> SUPPORTED_KEYWORDS = Set.of(
            "$schema", "$id", "title", "description", "default", "contentEncoding",
            "type", "required", "properties", "enum", "minLength", "maxLength", "minimum", "maximum", "format");
    private static final DateTimeFormatter ISO_MILLIS =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    // Exact decimals: range checks compare the number as written, and an overflowing literal such
    // as 1e400 is caught instead of becoming Infinity.
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    private final List<String> required = new ArrayList<>();
    private final List<Map.Entry<String, JsonNode>> properties = new ArrayList<>();
    private final JsonNode allowedVersions;
    private final FlatEventReader flat;

    /** Result of a check: the valid event's fields, or the reason it is refused. */
    public record Outcome(ValidEvent event, String reason) {
        public boolean valid() {
            return reason == null;
        }
    }

    public EventValidator(String schemaText) {
        JsonNode schema;
        try {
            schema = JSON.readTree(schemaText);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("schema is not JSON: " + e.getOriginalMessage(), e);
        }
        checkKeywords(schema, "schema");
        schema.path("required").forEach(n -> required.add(n.asText()));
        schema.path("properties").fields().forEachRemaining(properties::add);
        JsonNode version = schema.path("properties").path("schema_version").path("enum");
        allowedVersions = version.isMissingNode() ? JSON.createArrayNode().add(SCHEMA_VERSION) : version;
        List<Map.Entry<String, JsonNode>> flatProperties = new ArrayList<>(properties);
        if (!hasProperty("schema_version")) {
            flatProperties.add(Map.entry("schema_version", JSON.createObjectNode().put("type", "integer")));
        }
        List<JsonNode> versions = new ArrayList<>();
        allowedVersions.forEach(versions::add);
        flat = new FlatEventReader(flatProperties, required, versions);
    }

    private static void checkKeywords(JsonNode node, String where) {
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!SUPPORTED_KEYWORDS.contains(name)) {
                throw new IllegalArgumentException(where + ": unsupported schema keyword " + name);
            }
        }
        node.path("properties").fields().forEachRemaining(e -> checkKeywords(e.getValue(), where + "." + e.getKey()));
    }

    /**
     * Parse and validate one message value.
     *
     * @param payload the Kafka message value (may be null)
     * @param recordTimestampMs the Kafka record timestamp; {@code event_time} must equal it, or null
     */
    public Outcome check(byte[] payload, Long recordTimestampMs) {
        if (payload != null && payload.length <= MAX_PAYLOAD_BYTES) {
            ValidEvent event = flat.read(payload, recordTimestampMs);
            if (event != null) {
                return new Outcome(event, null);
            }
        }
        return checkWithTree(payload, recordTimestampMs);
    }

    /** Whether the fast path alone accepts {@code payload} (what a well-formed event should get). */
    boolean acceptsWithoutTree(byte[] payload, Long recordTimestampMs) {
        return flat.read(payload, recordTimestampMs) != null;
    }

    /** {@link #check} without the fast path: reads the payload into a tree and words any refusal. */
    Outcome checkWithTree(byte[] payload, Long recordTimestampMs) {
        if (payload == null) {
            return refuse("malformed_json: empty message");
        }
        if (payload.length > MAX_PAYLOAD_BYTES) {
            return refuse("payload_too_large: " + payload.length + " bytes, limit " + MAX_PAYLOAD_BYTES);
        }
        Integer badByte = firstInvalidUtf8(payload);
        if (badByte != null) {
            return refuse("invalid_utf8: byte " + badByte);
        }
        JsonNode event;
        try {
            event = JSON.readTree(payload);
        } catch (java.io.IOException e) {
            return refuse("malformed_json: " + firstLine(e));
        }
        if (event == null || event.isMissingNode()) {
            return refuse("malformed_json: empty message");
        }
        String nonFinite = firstNonFiniteNumber(event);
        if (nonFinite != null) {
            return refuse("malformed_json: number is infinity when parsed as double");
        }
        String reason = checkEvent(event, recordTimestampMs);
        return reason == null ? new Outcome(ValidEvent.of(event), null) : refuse(reason);
    }

    private static Outcome refuse(String reason) {
        return new Outcome(null, reason);
    }

    /** The first rule {@code event} breaks, or null when it is valid. */
    public String checkEvent(JsonNode event, Long recordTimestampMs) {
        if (!event.isObject()) {
            return "not_an_object: the payload must be a JSON object";
        }
        JsonNode version = event.get("schema_version");
        if (version != null && !version.isNull() && !isAllowedVersion(version)) {
            String text = version.toString();
            return "unknown_schema_version: " + text.substring(0, Math.min(40, text.length()));
        }
        for (String name : required) {
            JsonNode value = event.get(name);
            if (value == null || value.isNull()) {
                return "missing_field: " + name;
            }
        }
        for (Map.Entry<String, JsonNode> property : properties) {
            String name = property.getKey();
            JsonNode value = event.get(name);
            if (value == null || value.isNull() || name.equals("schema_version")) {
                continue;
            }
            String reason = checkValue(name, value, property.getValue());
            if (reason != null) {
                return reason;
            }
        }
        if (recordTimestampMs != null && hasProperty("event_time") && event.hasNonNull("event_time")) {
            Long eventMs = epochMillis(event.get("event_time").asText());
            if (eventMs == null || eventMs.longValue() != recordTimestampMs.longValue()) {
                return "event_time_mismatch: event_time " + event.get("event_time").asText()
                        + " is not the Kafka record timestamp " + isoMillis(recordTimestampMs);
            }
        }
        return null;
    }

    private boolean hasProperty(String name) {
        return properties.stream().anyMatch(p -> p.getKey().equals(name));
    }

    private boolean isAllowedVersion(JsonNode version) {
        if (!version.isNumber()) {
            return false;
        }
        for (JsonNode allowed : allowedVersions) {
            if (allowed.isNumber() && allowed.decimalValue().compareTo(version.decimalValue()) == 0) {
                return true;
            }
        }
        return false;
    }

    private static String checkValue(String name, JsonNode value, JsonNode rule) {
        String kind = rule.path("type").asText(null);
        if ("string".equals(kind) && !value.isTextual()) {
            return "wrong_type: " + name + " must be a string";
        }
        if ("boolean".equals(kind) && !value.isBoolean()) {
            return "wrong_type: " + name + " must be a boolean";
        }
        if ("number".equals(kind) || "integer".equals(kind)) {
            if (!value.isNumber()) {
                return "wrong_type: " + name + " must be a " + kind;
            }
            if ("integer".equals(kind) && value.decimalValue().stripTrailingZeros().scale() > 0) {
                return "wrong_type: " + name + " must be an integer";
            }
            if (rule.has("minimum") && value.decimalValue().compareTo(rule.get("minimum").decimalValue()) < 0) {
                return "out_of_range: " + name + " must be >= " + number(rule.get("minimum"));
            }
            if (rule.has("maximum") && value.decimalValue().compareTo(rule.get("maximum").decimalValue()) > 0) {
                return "out_of_range: " + name + " must be <= " + number(rule.get("maximum"));
            }
        }
        if ("object".equals(kind) && !value.isObject()) {
            return "wrong_type: " + name + " must be an object";
        }
        if (value.isTextual()) {
            String text = value.asText();
            int length = text.codePointCount(0, text.length());
            int minLength = rule.path("minLength").asInt(0);
            if (length < minLength) {
                return minLength == 1 ? "invalid_value: " + name + " must not be empty"
                        : "invalid_value: " + name + " is shorter than " + minLength + " characters";
            }
            if (rule.has("maxLength") && length > rule.get("maxLength").asInt()) {
                return "invalid_value: " + name + " is longer than " + rule.get("maxLength").asInt() + " characters";
            }
            if ("date-time".equals(rule.path("format").asText(null)) && epochMillis(text) == null) {
                return "invalid_value: " + name + " must be an ISO-8601 date-time such as 2018-04-01T00:00:31Z";
            }
        }
        if (rule.has("enum") && !inEnum(value, rule.get("enum"))) {
            List<String> options = new ArrayList<>();
            rule.get("enum").forEach(o -> options.add(o.isTextual() ? o.asText() : o.toString()));
            return "invalid_value: " + name + " must be one of " + String.join(", ", options);
        }
        return null;
    }

    private static boolean inEnum(JsonNode value, JsonNode options) {
        for (JsonNode option : options) {
            if (option.isNumber() && value.isNumber()
                    ? option.decimalValue().compareTo(value.decimalValue()) == 0 : option.equals(value)) {
                return true;
            }
        }
        return false;
    }

    private static String number(JsonNode node) {
        return node.isIntegralNumber() ? node.bigIntegerValue().toString() : node.decimalValue().toPlainString();
    }

    /** Milliseconds since the epoch of an RFC 3339 date-time, sub-millisecond digits truncated. */
    public static Long epochMillis(String text) {
        // Read by hand rather than by a pattern and a DateTimeFormatter: every transaction has
        // one or two date-times, and the formatter and the pattern were most of validation's CPU
        // time in a flame graph. The java.time factories check the ranges as strictly as the
        // parser did (month, day of that month, hour, offset within ±18:00).
        if (text == null || text.length() < 20 || !digits(text, 0, 4) || text.charAt(4) != '-'
                || !digits(text, 5, 7) || text.charAt(7) != '-' || !digits(text, 8, 10) || text.charAt(10) != 'T'
                || !digits(text, 11, 13) || text.charAt(13) != ':' || !digits(text, 14, 16)
                || text.charAt(16) != ':' || !digits(text, 17, 19)) {
            return null;
        }
        int at = 19;
        int nanos = 0;
        if (text.charAt(at) == '.') {
            int end = at + 1;
            while (end < text.length() && end - at <= 9 && isDigit(text.charAt(end))) {
                end++;
            }
            int fractionDigits = end - at - 1;
            if (fractionDigits == 0 || (end < text.length() && isDigit(text.charAt(end)))) {
                return null;
            }
            nanos = number(text, at + 1, end) * POWERS_OF_TEN[9 - fractionDigits];
            at = end;
        }
        int offsetSeconds;
        if (at == text.length() - 1 && text.charAt(at) == 'Z') {
            offsetSeconds = 0;
        } else if (at == text.length() - 6 && (text.charAt(at) == '+' || text.charAt(at) == '-')
                && digits(text, at + 1, at + 3) && text.charAt(at + 3) == ':' && digits(text, at + 4, at + 6)) {
            int sign = text.charAt(at) == '-' ? -1 : 1;
            try {
                offsetSeconds = ZoneOffset.ofHoursMinutes(sign * number(text, at + 1, at + 3),
                        sign * number(text, at + 4, at + 6)).getTotalSeconds();
            } catch (DateTimeException e) {
                return null;
            }
        } else {
            return null;
        }
        try {
            LocalDateTime local = LocalDateTime.of(number(text, 0, 4), number(text, 5, 7), number(text, 8, 10),
                    number(text, 11, 13), number(text, 14, 16), number(text, 17, 19), nanos);
            return local.toEpochSecond(ZoneOffset.UTC) * 1000 - offsetSeconds * 1000L + nanos / 1_000_000;
        } catch (DateTimeException e) {
            return null;
        }
    }

    private static final int[] POWERS_OF_TEN = {1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000,
            100_000_000, 1_000_000_000};

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean digits(String text, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!isDigit(text.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** The decimal number in {@code text[from, to)}, all digits (checked before). */
    private static int number(String text, int from, int to) {
        int value = 0;
        for (int i = from; i < to; i++) {
            value = value * 10 + (text.charAt(i) - '0');
        }
        return value;
    }

    /** {@code 2018-04-01T00:00:31.000Z}: the form every streamscore producer writes. */
    public static String isoMillis(long epochMs) {
        return ISO_MILLIS.format(Instant.ofEpochMilli(epochMs));
    }

    private static Integer firstInvalidUtf8(byte[] payload) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer input = ByteBuffer.wrap(payload);
        try {
            decoder.decode(input);
            return null;
        } catch (MalformedInputException e) {
            return input.position();
        } catch (CharacterCodingException e) {
            return input.position();
        }
    }

    private static String firstNonFiniteNumber(JsonNode node) {
        if (node.isNumber()) {
            double value = node.doubleValue();
            return Double.isFinite(value) ? null : node.toString();
        }
        for (JsonNode child : node) {
            String found = firstNonFiniteNumber(child);
            if (found != null) {
                return found;
            }
        }
        return null;
    }

    private static String firstLine(Exception e) {
        String message = e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
        if (message == null) {
            return e.getClass().getSimpleName();
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
