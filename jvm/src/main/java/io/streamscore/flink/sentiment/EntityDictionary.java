package io.streamscore.flink.sentiment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Company names and aliases → entity ids, from a JSON object {@code {"NOKIA": ["Nokia", "Nokia Oyj"]}}.
 *
 * <p>An event's own {@code entity} wins; it is mapped to its canonical id when it names a known
 * entity or alias (in any case). Otherwise the first alias mentioned in the text, as a whole word
 * and in any case, names the entity; longer aliases win over their prefixes ("Nokia Networks"
 * before "Nokia"). Text that names no entity resolves to {@code unresolved}.
 */
public final class EntityDictionary {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, String> byName = new HashMap<>();
    private final Pattern mentions;
    private final String unresolved;

    public EntityDictionary(String json, String unresolved) {
        this.unresolved = unresolved;
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("entity dictionary is not JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("entity dictionary must be a JSON object of id -> [aliases]");
        }
        List<String> aliases = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String id = entry.getKey();
            byName.put(id.toLowerCase(Locale.ROOT), id);
            for (JsonNode alias : entry.getValue()) {
                String name = alias.asText().strip();
                if (!name.isEmpty()) {
                    byName.putIfAbsent(name.toLowerCase(Locale.ROOT), id);
                    aliases.add(name);
                }
            }
        }
        aliases.sort(Comparator.comparingInt(String::length).reversed());
        StringBuilder alternatives = new StringBuilder();
        for (String alias : aliases) {
            alternatives.append(alternatives.isEmpty() ? "" : "|").append(Pattern.quote(alias));
        }
        mentions = alternatives.isEmpty() ? null : Pattern.compile(
                "(?<![\\p{L}\\p{N}])(?:" + alternatives + ")(?![\\p{L}\\p{N}])",
                Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);
    }

    /** The entity id of an event: its own {@code entity} (canonicalised), else the first one its text names. */
    public String resolve(String given, String text) {
        if (given != null && !given.isBlank()) {
            String trimmed = given.strip();
            return byName.getOrDefault(trimmed.toLowerCase(Locale.ROOT), trimmed);
        }
        if (mentions != null) {
            Matcher m = mentions.matcher(text);
            if (m.find()) {
                return byName.get(m.group().toLowerCase(Locale.ROOT));
            }
        }
        return unresolved;
    }
}
