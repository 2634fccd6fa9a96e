package io.streamscore.flink.sentiment;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TextCleanerTest {

    @Test
    void markupScriptsAndUrlsAreRemovedAndEntitiesDecoded() {
        String raw = "<p>Nokia&apos;s <b>profit</b> fell &amp; shares dropped</p><script>track()</script> "
                + "see https://example.com/a?b=c or www.example.org";
        assertEquals("Nokia's profit fell & shares dropped see or", TextCleaner.clean(raw, 1000));
    }

    @Test
    void controlCharactersGoAndWhitespaceCollapses() {
        assertEquals("Sales rose 5 %", TextCleaner.clean("\u0000Sales\u200b\t\n rose\u00a0 5\r\n%\u0007 ", 1000));
    }

    @Test
    void longTextIsCutAtAWordBoundary() {
        String cleaned = TextCleaner.clean("word ".repeat(100), 52);
        assertTrue(cleaned.length() <= 52, cleaned);
        assertTrue(cleaned.endsWith("word"), cleaned);
    }

    @Test
    void aTextOfOnlyMarkupBecomesEmpty() {
        assertEquals("", TextCleaner.clean("<div><img src=x></div> http://only.a/link", 1000));
    }

    @Test
    void lessThanSignsThatAreNotTagsStay() {
        assertEquals("margin < 5 % and > 2 %", TextCleaner.clean("margin < 5 % and > 2 %", 1000));
    }
}
