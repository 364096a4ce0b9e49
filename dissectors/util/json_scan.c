/* json_scan.c — a strict, bounded JSON reader for one object's top-level members, without a
 * tree (include/json_scan.h).
 *
 * Pipeline: jwt (JOSE header and claims) ─► [json_scan]. Owns nothing: values are spans into
 * the caller's document. RFC 8259 §2-§8 with jansson 2.14's choices where the RFC leaves room
 * (json_loadb, flags 0), so the jwt dissector accepts and refuses exactly what it did when it
 * parsed with jansson:
 * - whitespace is space, tab, LF, CR; the root must be an object, followed only by whitespace;
 * - strings: no raw byte below 0x20; escapes \" \\ \/ \b \f \n \r \t \uXXXX; \u0000 refused;
 *   a high surrogate must be followed at once by an escaped low one, a lone low one is refused;
 *   raw bytes must be strict UTF-8 (no overlong form, no surrogate, nothing above U+10FFFF);
 * - numbers: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; without fraction or exponent an
 *   integer that must fit int64_t (strtoll's range), otherwise a double that must not overflow
 *   (strtod giving ±HUGE_VAL with ERANGE; underflow is accepted, as jansson does; strtod reads
 *   '.' as the decimal point in the C locale, which tokenwatch never leaves: no setlocale);
 * - true, false, null; no trailing comma; duplicate keys allowed (each one is reported);
 * - depth: every value counts one level, the root object is level 1, at most 2048.
 * Nesting is followed with one bit per open container (array or object) on the stack, never by
 * recursion.
 */
#include "json_scan.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct rd {
    const uint8_t *p, *end;
};

static inline void skip_ws(struct rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The four hex digits at p[0..4) (caller checked the room), or -1. */
static long hex4(const uint8_t *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* Length of the strict UTF-8 sequence starting at p (first byte >= 0x80), or 0. */
static size_t utf8_seq(const uint8_t *p, const uint8_t *end)
{
    uint8_t b = p[0];
    size_t n;
    uint32_t cp;
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2;
        cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        cp = b & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (n == 3 && cp < 0x800) ||
        (n == 4 && cp < 0x10000))
        return 0;
    return n;
}

/* 1 for the bytes a string holds as they are: printable ASCII but '"' and '\\'. */
static const uint8_t plain[256] = {
#define R8(x) x, x, x, x, x, x, x, x
    R8(0), R8(0), R8(0), R8(0),                         /* 0x00-0x1f */
    1, 1, 0, 1, 1, 1, 1, 1, R8(1), R8(1), R8(1),        /* 0x20-0x3f: '"' */
    R8(1), R8(1), R8(1), 1, 1, 1, 1, 0, 1, 1, 1,        /* 0x40-0x5f: '\\' */
    R8(1), R8(1), R8(1), R8(1),                         /* 0x60-0x7f */
    R8(0), R8(0), R8(0), R8(0), R8(0), R8(0), R8(0), R8(0),
    R8(0), R8(0), R8(0), R8(0), R8(0), R8(0), R8(0), R8(0),
#undef R8
};

/* A string: r->p just past the opening quote. Fills v (span between the quotes), leaves r->p
 * past the closing quote. */
static int read_string(struct rd *r, struct json_val *v)
{
    const uint8_t *s = r->p, *p = r->p, *end = r->end;
    int esc = 0;
    for (;;) {
        while (p < end && plain[*p])
            p++;
        if (p >= end)
            return -1;
        uint8_t c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            return -1;
        if (c < 0x80 && c != '\\') {
            p++;
            continue;
        }
        if (c >= 0x80) {
            size_t n = utf8_seq(p, end);
            if (!n)
                return -1;
            p += n;
            continue;
        }
        /* an escape */
        esc = 1;
        if (end - p < 2)
            return -1;
        c = p[1];
        if (c != 'u') {
            if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' && c != 'n' &&
                c != 'r' && c != 't')
                return -1;
            p += 2;
            continue;
        }
        if (end - p < 6)
            return -1;
        long u = hex4(p + 2);
        if (u <= 0 || (u >= 0xDC00 && u <= 0xDFFF)) /* \u0000, a bad digit, a lone low half */
            return -1;
        p += 6;
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                return -1;
            long lo = hex4(p + 2);
            if (lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            p += 6;
        }
    }
    v->type = JSON_T_STRING;
    v->escaped = esc;
    v->p = s;
    v->len = (size_t)(p - s);
    r->p = p + 1;
    return 0;
}

/* A number starting at r->p ('-' or a digit). */
static int read_number(struct rd *r, struct json_val *v)
{
    const uint8_t *s = r->p, *p = r->p, *end = r->end;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9')
        return -1;
    uint64_t mag = 0;
    int ovf = 0;
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9')
            return -1; /* no leading zero */
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            unsigned d = *p - '0';
            if (mag > (UINT64_MAX - d) / 10)
                ovf = 1;
            else
                mag = mag * 10 + d;
            p++;
        }
    }
    int real = 0;
    if (p < end && *p == '.') {
        real = 1;
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return -1;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return -1;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    v->p = s;
    v->len = (size_t)(p - s);
    v->escaped = 0;
    r->p = p;
    if (!real) {
        /* strtoll's range: [-2^63, 2^63 - 1] */
        if (ovf || mag > (uint64_t)INT64_MAX + (uint64_t)neg)
            return -1;
        v->type = JSON_T_INT;
        v->i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
        return 0;
    }
    /* The root is an object, so a valid number is always followed by something: a number at
     * the very end is an error, and strtod then stops at p[0] (not a number character), inside
     * the document. Short numbers go through a NUL-terminated copy. */
    if (p >= end)
        return -1;
    char tmp[128];
    const char *txt = (const char *)s;
    if (v->len < sizeof(tmp)) {
        memcpy(tmp, s, v->len);
        tmp[v->len] = '\0';
        txt = tmp;
    }
    errno = 0;
    double d = strtod(txt, NULL);
    if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
        return -1;
    v->type = JSON_T_REAL;
    v->d = d;
    return 0;
}

/* A literal: true, false or null. */
static int read_literal(struct rd *r, struct json_val *v)
{
    static const struct {
        const char *w;
        size_t n;
        enum json_type t;
    } lit[3] = {{"true", 4, JSON_T_TRUE}, {"false", 5, JSON_T_FALSE}, {"null", 4, JSON_T_NULL}};
    for (int i = 0; i < 3; i++)
        if ((size_t)(r->end - r->p) >= lit[i].n && memcmp(r->p, lit[i].w, lit[i].n) == 0) {
            v->type = lit[i].t;
            v->p = r->p;
            v->len = lit[i].n;
            v->escaped = 0;
            r->p += lit[i].n;
            return 0;
        }
    return -1;
}

static int read_scalar(struct rd *r, struct json_val *v)
{
    if (r->p >= r->end)
        return -1;
    uint8_t c = *r->p;
    if (c == '"') {
        r->p++;
        return read_string(r, v);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return read_number(r, v);
    return read_literal(r, v);
}

/* A member's name and the ':' after it: r->p at the opening quote (whitespace skipped). */
static int read_key(struct rd *r, struct json_val *k)
{
    if (r->p >= r->end || *r->p != '"')
        return -1;
    r->p++;
    if (read_string(r, k) != 0)
        return -1;
    skip_ws(r);
    if (r->p >= r->end || *r->p != ':')
        return -1;
    r->p++;
    skip_ws(r);
    return 0;
}

#define BIT_SET(st, i) ((st)[(i) >> 3] |= (uint8_t)(1u << ((i) & 7)))
#define BIT_CLR(st, i) ((st)[(i) >> 3] &= (uint8_t)~(1u << ((i) & 7)))
#define BIT_GET(st, i) (((st)[(i) >> 3] >> ((i) & 7)) & 1u)

/* A value at depth `level` (the root object is 1): a scalar, or an array or object read to its
 * end with one bit per open container (1: object). Fills v with the value's span. */
static int read_value(struct rd *r, unsigned level, struct json_val *v)
{
    if (r->p >= r->end)
        return -1;
    if (*r->p != '[' && *r->p != '{')
        return level <= JSON_SCAN_MAX_DEPTH ? read_scalar(r, v) : -1;
    uint8_t st[JSON_SCAN_MAX_DEPTH / 8];
    unsigned n = 0; /* open containers */
    const uint8_t *start = r->p;
    struct json_val tmp;
    v->type = *r->p == '{' ? JSON_T_OBJECT : JSON_T_ARRAY;
    for (;;) {
        /* r->p at a value; its depth is level + n */
        if (level + n > JSON_SCAN_MAX_DEPTH || r->p >= r->end)
            return -1;
        uint8_t c = *r->p;
        int closed = 0;
        if (c == '{' || c == '[') {
            if (c == '{')
                BIT_SET(st, n);
            else
                BIT_CLR(st, n);
            n++;
            r->p++;
            skip_ws(r);
            if (r->p < r->end && *r->p == (c == '{' ? '}' : ']')) {
                r->p++;
                closed = 1;
            } else if (c == '{') {
                if (read_key(r, &tmp) != 0)
                    return -1;
                continue;
            } else {
                continue;
            }
        } else if (read_scalar(r, &tmp) != 0) {
            return -1;
        }
        /* after a value (or a container closed): ',' or the closing bracket of the innermost */
        for (;;) {
            if (closed) {
                if (--n == 0) {
                    v->p = start;
                    v->len = (size_t)(r->p - start);
                    v->escaped = 0;
                    return 0;
                }
                closed = 0;
            }
            skip_ws(r);
            if (r->p >= r->end)
                return -1;
            int obj = (int)BIT_GET(st, n - 1);
            if (*r->p == ',') {
                r->p++;
                skip_ws(r);
                if (obj && read_key(r, &tmp) != 0)
                    return -1;
                break; /* the next value */
            }
            if (*r->p != (obj ? '}' : ']'))
                return -1;
            r->p++;
            closed = 1;
        }
    }
}

/* Decodes the escapes of a validated string into out (NULL: only counts); returns the length. */
static size_t decode(const struct json_val *v, char *out)
{
    if (!v->escaped) {
        if (out)
            memcpy(out, v->p, v->len);
        return v->len;
    }
    const uint8_t *p = v->p, *end = v->p + v->len;
    size_t n = 0;
    while (p < end) {
        if (*p != '\\') {
            if (out)
                out[n] = (char)*p;
            n++;
            p++;
            continue;
        }
        uint8_t c = p[1];
        if (c != 'u') {
            char e = c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n' : c == 'r' ? '\r'
                   : c == 't' ? '\t' : (char)c;
            if (out)
                out[n] = e;
            n++;
            p += 2;
            continue;
        }
        uint32_t u = (uint32_t)hex4(p + 2);
        p += 6;
        if (u >= 0xD800 && u <= 0xDBFF) {
            u = 0x10000 + ((u - 0xD800) << 10) + ((uint32_t)hex4(p + 2) - 0xDC00);
            p += 6;
        }
        uint8_t b[4];
        size_t k;
        if (u < 0x80) {
            b[0] = (uint8_t)u;
            k = 1;
        } else if (u < 0x800) {
            b[0] = (uint8_t)(0xC0 | (u >> 6));
            b[1] = (uint8_t)(0x80 | (u & 0x3F));
            k = 2;
        } else if (u < 0x10000) {
            b[0] = (uint8_t)(0xE0 | (u >> 12));
            b[1] = (uint8_t)(0x80 | ((u >> 6) & 0x3F));
            b[2] = (uint8_t)(0x80 | (u & 0x3F));
            k = 3;
        } else {
            b[0] = (uint8_t)(0xF0 | (u >> 18));
            b[1] = (uint8_t)(0x80 | ((u >> 12) & 0x3F));
            b[2] = (uint8_t)(0x80 | ((u >> 6) & 0x3F));
            b[3] = (uint8_t)(0x80 | (u & 0x3F));
            k = 4;
        }
        if (out)
            memcpy(out + n, b, k);
        n += k;
    }
    return n;
}

size_t json_str_len(const struct json_val *v)
{
    return decode(v, NULL);
}

size_t json_str_decode(const struct json_val *v, char *out)
{
    size_t n = decode(v, out);
    out[n] = '\0';
    return n;
}

int json_str_eq(const struct json_val *v, const char *s)
{
    size_t sl = strlen(s);
    if (v->type != JSON_T_STRING)
        return 0;
    if (!v->escaped)
        return v->len == sl && memcmp(v->p, s, sl) == 0;
    if (v->len > 6 * sl + 6 || json_str_len(v) != sl) /* an escape is at most 6 bytes */
        return 0;
    char buf[JSON_SCAN_KEY_MAX + 1];
    if (sl > JSON_SCAN_KEY_MAX)
        return 0;
    json_str_decode(v, buf);
    return memcmp(buf, s, sl) == 0;
}

int json_scan_object(const uint8_t *doc, size_t len, json_member_fn fn, void *ctx)
{
    struct rd r = {doc, doc + len};
    skip_ws(&r);
    if (r.p >= r.end || *r.p != '{')
        return -1;
    r.p++;
    skip_ws(&r);
    if (r.p < r.end && *r.p == '}') {
        r.p++;
    } else {
        for (;;) {
            struct json_val k, v;
            if (read_key(&r, &k) != 0 || read_value(&r, 2, &v) != 0)
                return -1;
            if (fn) {
                char key[JSON_SCAN_KEY_MAX + 1];
                size_t klen = json_str_len(&k);
                if (klen <= JSON_SCAN_KEY_MAX) {
                    json_str_decode(&k, key);
                    fn(ctx, key, klen, &v);
                } else {
                    fn(ctx, NULL, klen, &v);
                }
            }
            skip_ws(&r);
            if (r.p < r.end && *r.p == ',') {
                r.p++;
                skip_ws(&r);
                continue;
            }
            if (r.p >= r.end || *r.p != '}')
                return -1;
            r.p++;
            break;
        }
    }
    skip_ws(&r);
    return r.p == r.end ? 0 : -1;
}

int json_array_next(const struct json_val *arr, size_t *pos, struct json_val *v)
{
    if (arr->type != JSON_T_ARRAY || arr->len < 2)
        return 0;
    /* the closing ']' stays inside the reader: a number is never read up to its end */
    struct rd r = {arr->p + (*pos ? *pos : 1), arr->p + arr->len};
    skip_ws(&r);
    if (r.p >= r.end || *r.p == ']')
        return 0;
    /* validated already: the depth here only has to let it through again */
    if (read_value(&r, 1, v) != 0)
        return 0;
    skip_ws(&r);
    if (r.p < r.end && *r.p == ',')
        r.p++;
    *pos = (size_t)(r.p - arr->p);
    return 1;
}
