package io.streamscore.flink.sentiment;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class EntityDictionaryTest {

    private final EntityDictionary dictionary = new EntityDictionary(
            "{\"NOKIA\": [\"Nokia\", \"Nokia Networks\"], \"KNEBV\": [\"Kone\"], \"UPM\": [\"UPM-Kymmene\"]}",
            "unresolved");

    @Test
    void theEventsOwnEntityWinsAndIsCanonicalised() {
        assertEquals("NOKIA", dictionary.resolve("nokia networks", "Kone wins an order"));
        assertEquals("ACME", dictionary.resolve(" ACME ", "Kone wins an order"));
    }

    @Test
    void theFirstCompanyNamedInTheTextIsTheEntity() {
        assertEquals("KNEBV", dictionary.resolve(null, "KONE beats Nokia in the tender"));
        assertEquals("UPM", dictionary.resolve("", "Shares in UPM-Kymmene rose"));
    }

    @Test
    void namesMatchAsWholeWordsOnly() {
        assertEquals("unresolved", dictionary.resolve(null, "Konecranes and Nokiaphone are not in the dictionary"));
    }
}
