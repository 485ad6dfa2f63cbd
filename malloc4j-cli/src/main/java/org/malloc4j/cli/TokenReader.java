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
    /**
     * The token's value if it is an integer, read from all its digits, not only those kept: a
     * number padded with zeros past {@value #MAX_KEPT} characters is still a number.
     */
    private long value;
    /** Whether the integer's magnitude is above {@link Long#MAX_VALUE}. */
    private boolean overflow;
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
        value = 0;
        overflow = false;
        boolean first = true;
        boolean digits = false;
        boolean negative = false;
        while (b >= 0 && !isWhitespace(b)) {
            boolean digit = b >= '0' && b <= '9';
            boolean sign = first && (b == '-' || b == '+');
            integer &= digit || sign;
            negative |= sign && b == '-';
            digits |= digit;
            first = false;
            if (integer && digit) {
                accumulate(b - '0');
            }
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
        value = negative ? -value : value;
        return true;
    }

    private void accumulate(int digit) {
        if (overflow || value > (Long.MAX_VALUE - digit) / 10) {
            overflow = true;
        } else {
            value = value * 10 + digit;
        }
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
        return integer && !overflow;
    }

    /**
     * @return whether the current token is a decimal integer too large (or too small) for a
     *     {@code long}, such as {@code 99999999999999999999}
     */
    boolean isOutOfRange() {
        return integer && overflow;
    }

    /**
     * @return the current token's value
     * @throws NumberFormatException if it is not a decimal integer that fits in a {@code long}
     */
    long number() {
        if (!isNumber()) {
            throw new NumberFormatException(text());
        }
        return value;
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
