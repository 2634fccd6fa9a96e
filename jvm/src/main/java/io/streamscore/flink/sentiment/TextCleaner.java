package io.streamscore.flink.sentiment;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a news item's raw text into what the model reads: markup, URLs and control characters
 * removed, HTML entities decoded, whitespace collapsed, and the length bounded.
 *
 * <p>The bound cuts at the last word boundary before {@code maxChars} (when one is near), so the
 * tokenizer never sees half a word; the model truncates to its own token limit anyway, and the
 * bound keeps a megabyte post from costing a megabyte of Arrow transfer.
 */
public final class TextCleaner {

    private static final Pattern SCRIPT = Pattern.compile("(?is)<(script|style)\\b.*?</\\1\\s*>");
    private static final Pattern TAG = Pattern.compile("<[!/?]?[A-Za-z][^<>]{0,1000}>|<!--.*?-->", Pattern.DOTALL);
    private static final Pattern URL = Pattern.compile("(?i)\\b(?:https?://|www\\.)\\S+");
    private static final Pattern ENTITY = Pattern.compile("&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});");
    private static final Pattern CONTROL = Pattern.compile("[\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}&&[^\\t\\n\\r]]");
    private static final Pattern SPACE = Pattern.compile("[\\s\\u00A0\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]+");

    private TextCleaner() {}

    /** The cleaned text, at most {@code maxChars} characters; empty when nothing is left. */
    public static String clean(String raw, int maxChars) {
        String text = SCRIPT.matcher(raw).replaceAll(" ");
        text = TAG.matcher(text).replaceAll(" ");
        text = decodeEntities(text);
        text = URL.matcher(text).replaceAll(" ");
        text = CONTROL.matcher(text).replaceAll("");
        text = SPACE.matcher(text).replaceAll(" ").strip();
        return bound(text, maxChars);
    }

    static String bound(String text, int maxChars) {
        if (text.length() <= maxChars) {
            return text;
        }
        int end = maxChars;
        if (Character.isLowSurrogate(text.charAt(end))) {
            end--;
        }
        int space = text.lastIndexOf(' ', end);
        return (space > maxChars * 4 / 5 ? text.substring(0, space) : text.substring(0, end)).strip();
    }

    private static String decodeEntities(String text) {
        if (text.indexOf('&') < 0) {
            return text;
        }
        Matcher m = ENTITY.matcher(text);
        StringBuilder out = new StringBuilder(text.length());
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(decode(m.group(1), m.group())));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static String decode(String name, String original) {
        if (name.charAt(0) == '#') {
            boolean hex = name.length() > 1 && (name.charAt(1) == 'x' || name.charAt(1) == 'X');
            int code = Integer.parseInt(name.substring(hex ? 2 : 1), hex ? 16 : 10);
            return Character.isValidCodePoint(code) ? new String(Character.toChars(code)) : " ";
        }
        return switch (name) {
            case "amp" -> "&";
            case "lt" -> "<";
            case "gt" -> ">";
            case "quot" -> "\"";
            case "apos" -> "'";
            case "nbsp" -> " ";
            case "euro" -> "€";
            case "pound" -> "£";
            case "ndash" -> "–";
            case "mdash" -> "—";
            case "hellip" -> "…";
            case "rsquo", "lsquo" -> "'";
            case "rdquo", "ldquo" -> "\"";
            default -> original;
        };
    }
}
