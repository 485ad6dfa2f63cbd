package org.malloc4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;

/**
 * Splits a byte stream into whitespace-separated tokens, as C's {@code fscanf} reads them, and
 * knows the line each token starts on. Reads through its own buffer: a trace of 16 MB parses in
 * tens of milliseconds.
 */
final class TokenReader {
    private static final int MAX_KEPT = 40;
    /** The most characters {@link #text()} shows of a token. */
    private static final int MAX_SHOWN = 40;

    private final InputStream in;
    private final byte[] buffer = new byte[1 << 16];
    private int position;
    private int limit;
    private long line = 1;

    private final byte[] token = new byte[MAX_KEPT];
    private int tokenLength;
    private boolean truncated;
    /** Whether the whole token, kept or not, is an optional sign and decimal digits. */
    private boolean integer;
    private long tokenLine;

    TokenReader(InputStream in) {
        this.in = in;
    }

    /**
     * Moves to the next token.
     *
     * @return false at the end of the stream
     * @throws IOException if reading fails
     */
    boolean next() throws IOException {
        int b = skipWhitespace();
        if (b < 0) {
            return false;
        }
        tokenLine = line;
        tokenLength = 0;
        truncated = false;
        integer = true;
        boolean first = true;
        boolean digits = false;
        while (b >= 0 && !isWhitespace(b)) {
            boolean digit = b >= '0' && b <= '9';
            integer &= digit || (first && (b == '-' || b == '+'));
            digits |= digit;
            first = false;
            if (tokenLength < MAX_KEPT) {
                token[tokenLength++] = (byte) b;
            } else {
                truncated = true;
            }
            b = read();
        }
        if (b == '\n') {
            line++;
        }
        integer &= digits;
        return true;
    }

    /**
     * @return the line the current token starts on, from 1; at the end of the stream, the line of
     *     the last token (1 if there was none)
     */
    long tokenLine() {
        return Math.max(tokenLine, 1);
    }

    /**
     * @return the current token as printable ASCII, for a message: a byte outside {@code !..~} as
     *     {@code \xNN}, a backslash as {@code \\}, and shortened with an ellipsis after
     *     {@value #MAX_SHOWN} characters. A binary file given as a trace must not put its bytes on
     *     the user's terminal, where they can be control sequences.
     */
    String text() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < tokenLength; i++) {
            int b = token[i] & 0xFF;
            String shown = b == '\\' ? "\\\\"
                    : b > ' ' && b < 0x7F ? String.valueOf((char) b)
                    : String.format(Locale.ROOT, "\\x%02x", b);
            if (text.length() + shown.length() > MAX_SHOWN) {
                return text.append("...").toString();
            }
            text.append(shown);
        }
        return truncated ? text.append("...").toString() : text.toString();
    }

    /** @return whether the current token is the single character {@code c} */
    boolean is(char c) {
        return tokenLength == 1 && !truncated && token[0] == c;
    }

    /** @return whether the current token is a decimal integer that fits in a {@code long} */
    boolean isNumber() {
        return parse() != null;
    }

    /**
     * @return whether the current token is a decimal integer too large (or too small) for a
     *     {@code long}, such as {@code 99999999999999999999}
     */
    boolean isOutOfRange() {
        return integer && parse() == null;
    }

    /**
     * @return the current token's value
     * @throws NumberFormatException if it is not a decimal integer that fits in a {@code long}
     */
    long number() {
        Long value = parse();
        if (value == null) {
            throw new NumberFormatException(text());
        }
        return value;
    }

    private Long parse() {
        if (truncated || tokenLength == 0) {
            return null;
        }
        int i = 0;
        boolean negative = token[0] == '-';
        if (negative || token[0] == '+') {
            i = 1;
        }
        if (i == tokenLength) {
            return null;
        }
        long value = 0;
        for (; i < tokenLength; i++) {
            int digit = token[i] - '0';
            if (digit < 0 || digit > 9 || value > (Long.MAX_VALUE - digit) / 10) {
                return null;
            }
            value = value * 10 + digit;
        }
        return negative ? -value : value;
    }

    private int skipWhitespace() throws IOException {
        int b = read();
        while (b >= 0 && isWhitespace(b)) {
            if (b == '\n') {
                line++;
            }
            b = read();
        }
        return b;
    }

    private int read() throws IOException {
        if (position == limit) {
            limit = in.read(buffer, 0, buffer.length);
            position = 0;
            if (limit <= 0) {
                limit = 0;
                return -1;
            }
        }
        return buffer[position++] & 0xFF;
    }

    private static boolean isWhitespace(int b) {
        return b == ' ' || b == '\n' || b == '\t' || b == '\r' || b == '\f' || b == 0x0B;
    }
}
