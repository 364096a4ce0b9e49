/* jb.c — the EVE JSON builder (see jb.h). Pipeline: verdict ─► [eve: jb] ─► outputs.
 * RFC 8259 §7 (string escaping), RFC 3629 §4 (UTF-8 validity: no overlongs, no surrogates,
 * nothing above U+10FFFF).
 */
#include "jb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

void jb_init(struct jb *j, size_t cap)
{
    j->buf = NULL;
    j->len = j->cap = 0;
    j->depth = 0;
    j->err = 0;
    if (cap) {
        j->buf = malloc(cap);
        if (j->buf)
            j->cap = cap;
        else
            j->err = 1;
    }
}

void jb_reset(struct jb *j)
{
    j->len = 0;
    j->depth = 0;
    j->err = 0;
}

void jb_release(struct jb *j)
{
    free(j->buf);
    j->buf = NULL;
    j->len = j->cap = 0;
    j->depth = 0;
}

/* Out of line: the buffer has to grow (or is in error). */
static int grow_slow(struct jb *j, size_t more)
{
    if (j->err)
        return 0;
    if (j->cap - j->len >= more)
        return 1;
    size_t cap = j->cap ? j->cap : 256;
    while (cap - j->len < more)
        cap *= 2;
    char *b = realloc(j->buf, cap);
    if (!b) {
        j->err = 1;
        return 0;
    }
    j->buf = b;
    j->cap = cap;
    return 1;
}

/* 1 when `more` bytes fit (the common case, inline: gcc left it out of line, 668,000 calls on
 * 60,000 packets), else grows; 0 on error. */
static inline __attribute__((always_inline)) int grow(struct jb *j, size_t more)
{
    if (__builtin_expect(!j->err && j->cap - j->len >= more, 1))
        return 1;
    return grow_slow(j, more);
}

static inline void put(struct jb *j, const char *s, size_t n)
{
    if (!grow(j, n))
        return;
    memcpy(j->buf + j->len, s, n);
    j->len += n;
}

static inline void putc1(struct jb *j, char c)
{
    if (!grow(j, 1))
        return;
    j->buf[j->len++] = c;
}

/* Length of a valid UTF-8 sequence starting at s (n bytes left), or 0 when invalid. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t min, cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        len = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* 1 for bytes that go out as they are: printable ASCII but '"' and '\\'. */
static const uint8_t plain[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0),
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20: '"' is 0x22 */
    R16(1), R16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50: '\\' is 0x5c */
    R16(1), R16(1),
    R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0),
#undef R16
};

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Nonzero when one of the 8 bytes of w is not plain: below 0x20, '"', '\\' or 0x80 and up
 * (each test is the exact "some byte is zero / less than n" word trick, Hacker's Delight 6-1). */
static inline int word_not_plain(uint64_t w)
{
    uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
    uint64_t lt20 = (w - ONES * 0x20) & ~w, zq = (q - ONES) & ~q, zb = (b - ONES) & ~b;
    return ((lt20 | zq | zb | w) & HIGHS) != 0;
}

void jb_escape(struct jb *j, const void *sv, size_t n)
{
    const uint8_t *s = sv;
    size_t i = 0;
    /* Worst case every byte becomes \u00XX. */
    if (!grow(j, n * 6))
        return;
    char *o = j->buf + j->len;
    while (i < n) {
        /* Runs of plain bytes (almost everything in a token record) are copied whole. */
        size_t r = i;
        uint64_t w;
        while (n - r >= 8 && (memcpy(&w, s + r, 8), !word_not_plain(w)))
            r += 8;
        while (r < n && plain[s[r]])
            r++;
        if (r > i) {
            memcpy(o, s + i, r - i);
            o += r - i;
            i = r;
            if (i == n)
                break;
        }
        uint8_t c = s[i];
        if (c >= 0x80) {
            size_t l = utf8_len(s + i, n - i);
            if (l) {
                memcpy(o, s + i, l);
                o += l;
                i += l;
                continue;
            }
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex_char(c >> 4);
            *o++ = hex_char(c);
        }
        i++;
    }
    j->len = (size_t)(o - j->buf);
}

static inline void comma(struct jb *j);

static void key_prefix(struct jb *j, const char *key)
{
    comma(j);
    if (!key)
        return;
    /* Keys are short literals that need no escaping: copied in one go when so. */
    size_t n = strlen(key), i = 0;
    if (!grow(j, n + 3))
        return;
    char *o = j->buf + j->len;
    o[0] = '"';
    memcpy(o + 1, key, n); /* past j->len: overwritten below if the key needs escaping */
    uint64_t w;
    while (n - i >= 8 && (memcpy(&w, key + i, 8), !word_not_plain(w)))
        i += 8;
    while (i < n && plain[(uint8_t)key[i]])
        i++;
    if (i == n) {
        o[1 + n] = '"';
        o[2 + n] = ':';
        j->len += n + 3;
        return;
    }
    j->len++;
    jb_escape(j, key, n);
    put(j, "\":", 2);
}

/* The comma before a member or element, as key_prefix writes it. */
static inline void comma(struct jb *j)
{
    if (j->depth > 0) {
        if (!(j->first[j->depth - 1] & 1))
            putc1(j, ',');
        j->first[j->depth - 1] &= 0x80;
    }
}

/* A pre-rendered key ("\"name\":", JB_KEY). */
static inline void kq_prefix(struct jb *j, const char *qkey, size_t qn)
{
    comma(j);
    put(j, qkey, qn);
}

static void level(struct jb *j, char c)
{
    putc1(j, c);
    if (j->depth >= JB_MAX_DEPTH) {
        j->err = 1;
        return;
    }
    /* bit 0: nothing written yet at this level; bit 7: the level is an array */
    j->first[j->depth++] = (uint8_t)(1 | (c == '[' ? 0x80 : 0));
}

void jb_open_object(struct jb *j, const char *key)
{
    key_prefix(j, key);
    level(j, '{');
}

void jb_open_array(struct jb *j, const char *key)
{
    key_prefix(j, key);
    level(j, '[');
}

void jb_kopen_object(struct jb *j, const char *qkey, size_t qn)
{
    kq_prefix(j, qkey, qn);
    level(j, '{');
}

void jb_kopen_array(struct jb *j, const char *qkey, size_t qn)
{
    kq_prefix(j, qkey, qn);
    level(j, '[');
}

void jb_close(struct jb *j)
{
    if (j->depth <= 0) {
        j->err = 1;
        return;
    }
    j->depth--;
    putc1(j, (j->first[j->depth] & 0x80) ? ']' : '}');
}

static inline void str_value(struct jb *j, const void *s, size_t n)
{
    putc1(j, '"');
    jb_escape(j, s, n);
    putc1(j, '"');
}

void jb_strn(struct jb *j, const char *key, const void *s, size_t n)
{
    key_prefix(j, key);
    str_value(j, s, n);
}

void jb_str(struct jb *j, const char *key, const char *s)
{
    jb_strn(j, key, s, strlen(s));
}

void jb_kstrn(struct jb *j, const char *qkey, size_t qn, const void *s, size_t n)
{
    kq_prefix(j, qkey, qn);
    str_value(j, s, n);
}

void jb_kstr(struct jb *j, const char *qkey, size_t qn, const char *s)
{
    jb_kstrn(j, qkey, qn, s, strlen(s));
}

/* Writes v's decimal digits so that they end just before `end`; returns where they start.
 * Backwards, since the last digit comes out first; 20 digits at most (UINT64_MAX). */
static inline char *digits_before(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

static inline void int_value(struct jb *j, int64_t v)
{
    char tmp[24];
    char *p = digits_before(tmp + sizeof(tmp), v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
    if (v < 0)
        *--p = '-';
    put(j, p, (size_t)(tmp + sizeof(tmp) - p));
}

static inline void uint_value(struct jb *j, uint64_t v)
{
    char tmp[24];
    char *p = digits_before(tmp + sizeof(tmp), v);
    put(j, p, (size_t)(tmp + sizeof(tmp) - p));
}

static inline void bool_value(struct jb *j, int v)
{
    if (v)
        put(j, "true", 4);
    else
        put(j, "false", 5);
}

void jb_int(struct jb *j, const char *key, int64_t v)
{
    key_prefix(j, key);
    int_value(j, v);
}

void jb_uint(struct jb *j, const char *key, uint64_t v)
{
    key_prefix(j, key);
    uint_value(j, v);
}

void jb_bool(struct jb *j, const char *key, int v)
{
    key_prefix(j, key);
    bool_value(j, v);
}

void jb_kint(struct jb *j, const char *qkey, size_t qn, int64_t v)
{
    kq_prefix(j, qkey, qn);
    int_value(j, v);
}

void jb_kuint(struct jb *j, const char *qkey, size_t qn, uint64_t v)
{
    kq_prefix(j, qkey, qn);
    uint_value(j, v);
}

void jb_kbool(struct jb *j, const char *qkey, size_t qn, int v)
{
    kq_prefix(j, qkey, qn);
    bool_value(j, v);
}

void jb_raw(struct jb *j, const char *key, const char *json, size_t n)
{
    key_prefix(j, key);
    put(j, json, n);
}

void jb_verbatim(struct jb *j, const char *s, size_t n, int depth)
{
    put(j, s, n);
    if (depth < 0)
        return;
    if (depth > JB_MAX_DEPTH) {
        j->err = 1;
        return;
    }
    j->depth = depth;
    for (int i = 0; i < depth; i++)
        j->first[i] = 0; /* objects, members written: the next member takes a comma */
}

void jb_members(struct jb *j, const char *members, size_t n)
{
    if (!n)
        return;
    key_prefix(j, NULL);
    put(j, members, n);
}
