/* b64.c — base64url and lenient base64 codecs for JOSE.
 *
 * Pipeline: used by the jwt dissector (token parts, strict) and by the key store (JWK members
 * and x5c certificates, lenient). Pure functions over caller buffers; owns nothing.
 * RFC 4648 §4 (base64), §5 (base64url), §3.5 (canonical encoding: zero pad bits);
 * RFC 7515 §2 and Appendix C (base64url without padding in JOSE).
 */
#include "b64.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* 0..63 for an alphabet character, BAD for anything else. Both alphabets map here (the lenient
 * decoder); the strict one has its own table, url_sextets. */
enum { BAD = 64 };

/* Built from the alphabets by hand: a table, since this runs over every token byte. */
static const uint8_t sextets[256] = {
#define B16 BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD
    B16, B16,
    /* 0x20 */ BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, 62, BAD, 62, BAD, 63,
    /* 0x30 */ 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, BAD, BAD, BAD, BAD, BAD, BAD,
    /* 0x40 */ BAD, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    /* 0x50 */ 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, BAD, BAD, BAD, BAD, 63,
    /* 0x60 */ BAD, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    /* 0x70 */ 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, BAD, BAD, BAD, BAD, BAD,
    B16, B16, B16, B16, B16, B16, B16, B16,
#undef B16
};

/* The strict (base64url) alphabet alone: '+' and '/' are BAD here, so one lookup both
 * validates and decodes a character of a token (this runs over every byte of every distinct
 * token, several times). */
static const uint8_t url_sextets[256] = {
#define B16 BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD
    B16, B16,
    /* 0x20 */ BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, 62, BAD, BAD,
    /* 0x30 */ 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, BAD, BAD, BAD, BAD, BAD, BAD,
    /* 0x40 */ BAD, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    /* 0x50 */ 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, BAD, BAD, BAD, BAD, 63,
    /* 0x60 */ BAD, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    /* 0x70 */ 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, BAD, BAD, BAD, BAD, BAD,
    B16, B16, B16, B16, B16, B16, B16, B16,
#undef B16
};

static inline int sextet(unsigned char c)
{
    return sextets[c];
}

/* Decodes n sextets (already validated) into out; returns the byte count, or -1 when the
 * leftover bits of a final partial group are not zero (RFC 4648 §3.5: a canonical encoder
 * zeroes them, so non-zero bits mean a second spelling of the same bytes). */
static long pack(const uint8_t *sx, size_t n, uint8_t *out, int strict_tail)
{
    size_t o = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t v = ((uint32_t)sx[i] << 18) | ((uint32_t)sx[i + 1] << 12) |
                     ((uint32_t)sx[i + 2] << 6) | sx[i + 3];
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    size_t rest = n - i;
    if (rest == 1)
        return -1;
    if (rest == 2) {
        if (strict_tail && (sx[i + 1] & 0x0f))
            return -1;
        out[o++] = (uint8_t)((sx[i] << 2) | (sx[i + 1] >> 4));
    } else if (rest == 3) {
        if (strict_tail && (sx[i + 2] & 0x03))
            return -1;
        out[o++] = (uint8_t)((sx[i] << 2) | (sx[i + 1] >> 4));
        out[o++] = (uint8_t)((sx[i + 1] << 4) | (sx[i + 2] >> 2));
    }
    return (long)o;
}

long b64url_decode(const char *in, size_t len, uint8_t *out)
{
    if (len % 4 == 1)
        return -1;
    size_t o = 0, i = 0;
    const unsigned char *u = (const unsigned char *)in;
    /* Whole quads straight to out (BAD is the only value with bit 6 set); the tail goes through
     * pack() for the pad-bit check. */
    for (; i + 4 <= len; i += 4) {
        uint32_t a = url_sextets[u[i]], b = url_sextets[u[i + 1]], c = url_sextets[u[i + 2]],
                 d = url_sextets[u[i + 3]];
        if ((a | b | c | d) & BAD)
            return -1;
        uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
        out[o] = (uint8_t)(v >> 16);
        out[o + 1] = (uint8_t)(v >> 8);
        out[o + 2] = (uint8_t)v;
        o += 3;
    }
    uint8_t sx[3];
    size_t rest = len - i;
    for (size_t k = 0; k < rest; k++) {
        uint8_t c = url_sextets[u[i + k]];
        if (c == BAD)
            return -1;
        sx[k] = c;
    }
    long n = pack(sx, rest, out + o, 1);
    if (n < 0)
        return -1;
    return (long)o + n;
}

long b64_decode_lenient(const char *in, size_t len, uint8_t *out)
{
    uint8_t sx[4];
    size_t nsx = 0, o = 0;
    int padded = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            padded = 1;
            continue;
        }
        int v = sextet(c);
        /* Data after padding would be two documents glued together, not sloppiness. */
        if (v == BAD || padded)
            return -1;
        sx[nsx++] = (uint8_t)v;
        if (nsx == 4) {
            o += (size_t)pack(sx, 4, out + o, 0);
            nsx = 0;
        }
    }
    long n = pack(sx, nsx, out + o, 0);
    if (n < 0)
        return -1;
    return (long)o + n;
}

size_t b64url_encode(const uint8_t *in, size_t len, char *out)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = abc[(v >> 6) & 63];
        out[o++] = abc[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
    } else if (len - i == 2) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = abc[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

int b64url_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
#ifdef __SSE2__
    /* Sixteen bytes a step: a byte is in the alphabet when it lies in A-Z, a-z or 0-9 or is
     * '-' or '_'. Signed compares: bytes >= 0x80 are negative and fall below every range. Runs
     * on every candidate token of every request (token.c) and per distinct token (jwt.c). */
    const __m128i A1 = _mm_set1_epi8('A' - 1), Z1 = _mm_set1_epi8('Z' + 1);
    const __m128i a1 = _mm_set1_epi8('a' - 1), z1 = _mm_set1_epi8('z' + 1);
    const __m128i d1 = _mm_set1_epi8('0' - 1), d9 = _mm_set1_epi8('9' + 1);
    const __m128i dash = _mm_set1_epi8('-'), under = _mm_set1_epi8('_');
    for (; i + 16 <= len; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(u + i));
        __m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, A1), _mm_cmplt_epi8(x, Z1));
        __m128i lo = _mm_and_si128(_mm_cmpgt_epi8(x, a1), _mm_cmplt_epi8(x, z1));
        __m128i dg = _mm_and_si128(_mm_cmpgt_epi8(x, d1), _mm_cmplt_epi8(x, d9));
        __m128i ok = _mm_or_si128(_mm_or_si128(up, lo), _mm_or_si128(
                         dg, _mm_or_si128(_mm_cmpeq_epi8(x, dash), _mm_cmpeq_epi8(x, under))));
        if (_mm_movemask_epi8(ok) != 0xFFFF)
            return 0;
    }
#endif
    unsigned bad = 0;
    for (; i < len; i++)
        bad |= url_sextets[u[i]];
    return !(bad & BAD);
}
