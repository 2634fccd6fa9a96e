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
    void anUnenforcedKeywordIsRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> new EventValidator("{\"type\": \"object\", \"properties\": {\"a\": {\"pattern\": \"x\"}}}"));
    }
}
