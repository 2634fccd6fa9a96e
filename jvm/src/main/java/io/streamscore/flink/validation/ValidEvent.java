package io.streamscore.flink.validation;

import com.fasterxml.jackson.databind.JsonNode;

/** The fields of an event that passed its schema: text, number or boolean by name, null when absent. */
public interface ValidEvent {

    String text(String field);

    Double number(String field);

    Boolean bool(String field);

    /** An event read into a tree (the general path of {@link EventValidator}). */
    static ValidEvent of(JsonNode tree) {
        return new ValidEvent() {
            private JsonNode field(String name) {
                JsonNode value = tree.get(name);
                return value == null || value.isNull() ? null : value;
            }

            @Override
            public String text(String name) {
                JsonNode value = field(name);
                return value == null ? null : value.asText();
            }

            @Override
            public Double number(String name) {
                JsonNode value = field(name);
                return value == null ? null : value.doubleValue();
            }

            @Override
            public Boolean bool(String name) {
                JsonNode value = field(name);
                return value == null ? null : value.booleanValue();
            }
        };
    }
}
