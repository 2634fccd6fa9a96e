package io.streamscore.flink.validation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The JVM validator gives every shared case (tests/cases/validation.jsonl) the Python reason code. */
class EventValidatorTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final ObjectMapper JSON = new ObjectMapper();

    private static EventValidator validatorFor(String topic) throws IOException {
        return new EventValidator(Files.readString(ROOT.resolve("schemas").resolve(topic + ".schema.json")));
    }

    private static byte[] payload(JsonNode testCase) {
        if (testCase.get("payload_base64").isNull()) {
            return ("{\"pad\": \"" + "x".repeat(testCase.get("pad_bytes").asInt()) + "\"}").getBytes(StandardCharsets.UTF_8);
        }
        return Base64.getDecoder().decode(testCase.get("payload_base64").asText());
    }

    @TestFactory
    List<DynamicTest> eachSharedCaseGetsItsReasonCode() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (String line : Files.readAllLines(ROOT.resolve("tests/cases/validation.jsonl"))) {
            JsonNode testCase = JSON.readTree(line);
            tests.add(DynamicTest.dynamicTest(testCase.get("case").asText(), () -> {
                EventValidator.Outcome outcome = validatorFor(testCase.get("topic").asText())
                        .check(payload(testCase), testCase.get("record_timestamp_ms").asLong());
                if (testCase.get("code").isNull()) {
                    assertNull(outcome.reason(), outcome.reason());
                } else {
                    assertTrue(outcome.reason() != null, "accepted an invalid event");
                    assertEquals(testCase.get("code").asText(), outcome.reason().split(":")[0], outcome.reason());
                }
            }));
        }
        return tests;
    }

    @Test
    void reasonsReadTheSameAsPythons() throws IOException {
        EventValidator validator = validatorFor("transactions");
        String event = "{\"transaction_id\":\"1\",\"event_time\":\"2018-04-01T00:00:31Z\",\"customer_id\":\"5\","
                + "\"terminal_id\":\"7\",\"amount\":-3}";
        assertEquals("out_of_range: amount must be >= 0",
                validator.check(event.getBytes(StandardCharsets.UTF_8), 1522540831000L).reason());
        assertEquals("event_time_mismatch: event_time 2018-04-01T00:00:31Z is not the Kafka record timestamp 2018-04-01T00:00:32.000Z",
                validator.check(event.replace("-3", "3").getBytes(StandardCharsets.UTF_8), 1522540832000L).reason());
    }

    @Test
    void dateTimesReadAsJavaTimesParserReadsThem() {
        List<String> texts = new ArrayList<>(List.of(
                "2018-04-01T00:00:31Z", "2018-04-01T00:00:31.123Z", "2018-04-01T00:00:31.1Z",
                "2018-04-01T00:00:31.123456789Z", "2018-04-01T00:00:31.1234567891Z", "2018-04-01T00:00:31.Z",
                "2018-04-01T02:00:31+02:00", "2018-04-01T00:00:31-05:30", "2018-04-01T00:00:31-00:00",
                "2018-04-01T00:00:31+18:00", "2018-04-01T00:00:31+18:01", "2018-04-01T00:00:31+19:00",
                "2018-04-01T00:00:31+01:60", "2016-02-29T00:00:00Z", "2018-02-29T00:00:00Z", "2018-04-31T00:00:00Z",
                "2018-13-01T00:00:00Z", "2018-00-01T00:00:00Z", "2018-04-01T24:00:00Z", "2018-04-01T23:60:00Z",
                "2018-04-01T23:59:60Z", "0000-01-01T00:00:00Z", "1969-12-31T23:59:59.9995Z",
                "2018-04-01 00:00:31Z", "2018-04-01T00:00:31", "2018-04-01T00:00:31z", "2018-04-01T00:00:31+0200",
                "18-04-01T00:00:31Z", "2018-04-01T00:00:31Zjunk", "", "2018-4-01T00:00:31Z", "2018-04-01T0a:00:31Z"));
        java.util.Random random = new java.util.Random(7);
        String alphabet = "0123456789-T:.Z+ ";
        for (int i = 0; i < 20_000; i++) {
            StringBuilder text = new StringBuilder("2018-04-01T00:00:31.250+01:00");
            for (int change = random.nextInt(3); change >= 0; change--) {
                int at = random.nextInt(text.length());
                switch (random.nextInt(3)) {
                    case 0 -> text.setCharAt(at, alphabet.charAt(random.nextInt(alphabet.length())));
                    case 1 -> text.deleteCharAt(at);
                    default -> text.insert(at, alphabet.charAt(random.nextInt(alphabet.length())));
                }
            }
            texts.add(text.toString());
        }
        java.util.regex.Pattern rfc3339 = java.util.regex.Pattern.compile(
                "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})");
        for (String text : texts) {
            Long expected = null;
            if (rfc3339.matcher(text).matches()) {
                try {
                    expected = java.time.OffsetDateTime.parse(text, java.time.format.DateTimeFormatter.ISO_OFFSET_DATE_TIME)
                            .toInstant().toEpochMilli();
                } catch (java.time.format.DateTimeParseException e) {
                    expected = null;
                }
            }
            assertEquals(expected, EventValidator.epochMillis(text), text);
        }
    }

    private static final Map<String, List<String>> TEXT_FIELDS = Map.of(
            "transactions", List.of("transaction_id", "customer_id", "terminal_id", "event_time"),
            "fraud-labels", List.of("transaction_id", "customer_id", "terminal_id", "event_time", "tx_event_time"),
            "news", List.of("id", "event_time", "text", "entity", "source"));

    @Test
    void theFastPathAcceptsExactlyWhatTheTreePathAccepts() throws IOException {
        java.util.Random random = new java.util.Random(11);
        String alphabet = "{}[]\",:0123456789.-+eEtrufalsn \\\u00e9\u00ff";
        Map<String, String> valid = Map.of(
                "transactions", "{\"transaction_id\":\"17\",\"event_time\":\"2018-04-01T00:00:31.250Z\","
                        + "\"customer_id\":\"5\",\"terminal_id\":\"7\",\"amount\":12.5,\"schema_version\":1}",
                "fraud-labels", "{\"transaction_id\":\"17\",\"customer_id\":\"5\",\"terminal_id\":\"7\","
                        + "\"tx_event_time\":\"2018-03-25T00:00:31Z\",\"event_time\":\"2018-04-01T00:00:31.250Z\","
                        + "\"is_fraud\":true}",
                "news", "{\"id\":\"n1\",\"event_time\":\"2018-04-01T00:00:31.250Z\",\"text\":\"Acme beats\","
                        + "\"entity\":\"acme\",\"source\":\"wire\"}");
        long timestamp = 1522540831250L;
        int accepted = 0;
        for (Map.Entry<String, String> topic : valid.entrySet()) {
            EventValidator validator = validatorFor(topic.getKey());
            assertTrue(validator.acceptsWithoutTree(topic.getValue().getBytes(StandardCharsets.UTF_8), timestamp),
                    "the fast path refused a well-formed " + topic.getKey() + " event");
            for (int i = 0; i < 20_000; i++) {
                StringBuilder text = new StringBuilder(topic.getValue());
                for (int change = random.nextInt(3); change >= 0; change--) {
                    int at = random.nextInt(text.length());
                    switch (random.nextInt(4)) {
                        case 0 -> text.setCharAt(at, alphabet.charAt(random.nextInt(alphabet.length())));
                        case 1 -> text.deleteCharAt(at);
                        case 2 -> text.insert(at, alphabet.charAt(random.nextInt(alphabet.length())));
                        default -> {
                            int comma = text.indexOf(",", at);
                            if (comma > 0) {  // a field again, an extra field, or a nested value
                                String[] extras = {"\"amount\":3,", "\"is_fraud\":false,", "\"x\":{\"y\":1e400},",
                                        "\"x\":[1,2],", "\"event_time\":null,", "\"schema_version\":2,", "\"z\":1e999,"};
                                text.insert(comma + 1, extras[random.nextInt(extras.length)]);
                            }
                        }
                    }
                }
                byte[] payload = text.toString().getBytes(StandardCharsets.UTF_8);
                if (random.nextInt(20) == 0) {
                    payload[random.nextInt(payload.length)] = (byte) (0x80 + random.nextInt(128));
                }
                EventValidator.Outcome fast = validator.check(payload, timestamp);
                EventValidator.Outcome tree = validator.checkWithTree(payload, timestamp);
                assertEquals(tree.reason(), fast.reason(), text.toString());
                if (fast.valid()) {
                    accepted++;
                    // The schema's fields, as the jobs read them (extra fields are not read).
                    for (String field : TEXT_FIELDS.get(topic.getKey())) {
                        assertEquals(tree.event().text(field), fast.event().text(field), field + " of " + text);
                    }
                    if (topic.getKey().equals("transactions")) {
                        assertEquals(tree.event().number("amount"), fast.event().number("amount"), text.toString());
                    }
                    if (topic.getKey().equals("fraud-labels")) {
                        assertEquals(tree.event().bool("is_fraud"), fast.event().bool("is_fraud"), text.toString());
                    }
                }
            }
        }
        assertTrue(accepted > 1_000, "too few mutations stayed valid to compare: " + accepted);
    }

    @Test
    void wellFormedUtf8IsWhatJavasStrictDecoderAccepts() {
        java.util.Random random = new java.util.Random(3);
        java.nio.charset.CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        for (int i = 0; i < 200_000; i++) {
            byte[] bytes = new byte[1 + random.nextInt(6)];
            for (int k = 0; k < bytes.length; k++) {
                bytes[k] = (byte) (random.nextBoolean() ? 0x80 + random.nextInt(0x80) : random.nextInt(256));
            }
            boolean decodes;
            try {
                decoder.reset().decode(java.nio.ByteBuffer.wrap(bytes));
                decodes = true;
            } catch (java.nio.charset.CharacterCodingException e) {
                decodes = false;
            }
            assertEquals(decodes, Utf8.wellFormed(bytes), java.util.HexFormat.of().formatHex(bytes));
        }
    }

    @Test
    void anUnenforcedKeywordIsRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> new EventValidator("{\"type\": \"object\", \"properties\": {\"a\": {\"pattern\": \"x\"}}}"));
    }
}
