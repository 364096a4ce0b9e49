/* parse.h — the contract every dissector keeps.
 *
 * A parser returns how much it consumed and whether it needs more (Suricata's AppLayerResult,
 * picohttpparser's "-2 partial"); results are spans into the caller's buffer, never copies; every
 * read goes through a bounds-checked reader whose error flag is sticky (tcpdump's GET_* getters,
 * without longjmp), so a parser cannot read past `len`.
 */
#ifndef TW_PARSE_H
#define TW_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum parse_status {
    PARSE_OK = 0,        /* a complete unit was parsed; `consumed` bytes used */
    PARSE_NEED_MORE = 1, /* incomplete; call again with more bytes (`needed` if known, else 0) */
    PARSE_ERROR = -1,    /* not this protocol or hopelessly broken */
};

struct parse_result {
    int status;
    size_t consumed, needed;
};

/* A view into someone else's buffer: valid only as long as that buffer. */
struct span {
    const uint8_t *p;
    size_t len;
};

static inline struct span span_make(const void *p, size_t len)
{
    struct span s = {(const uint8_t *)p, len};
    return s;
}

static inline struct span span_cstr(const char *s)
{
    return span_make(s, strlen(s));
}

/* Exact, case-sensitive. */
static inline int span_eq(struct span a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && (n == 0 || memcmp(a.p, s, n) == 0);
}

static inline unsigned char span_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* ASCII case-insensitive equality with the n bytes at s: lengths first, so a lookup that
 * measured its name once (strlen) rejects names of another length without reading them. */
static inline int span_ieq_len(struct span a, const char *s, size_t n)
{
    if (a.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (span_lower(a.p[i]) != span_lower((unsigned char)s[i]))
            return 0;
    return 1;
}

/* ASCII case-insensitive equality with a C string. Inline: with a literal s the strlen is a
 * constant and the length test comes first; otherwise the first byte settles most mismatches
 * (a name against a list) before the strlen. */
static inline int span_ieq(struct span a, const char *s)
{
    if (!__builtin_constant_p(strlen(s)) && a.len &&
        span_lower(a.p[0]) != span_lower((unsigned char)s[0]))
        return 0;
    return span_ieq_len(a, s, strlen(s));
}
/* ASCII case-insensitive prefix test (inline: a literal prefix's strlen is a constant). */
static inline int span_istarts(struct span a, const char *prefix)
{
    size_t n = strlen(prefix);
    if (a.len < n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (span_lower(a.p[i]) != span_lower((unsigned char)prefix[i]))
            return 0;
    return 1;
}

/* Trim spaces and horizontal tabs at both ends (inline: every header value goes through it). */
static inline struct span span_trim(struct span a)
{
    while (a.len && (a.p[0] == ' ' || a.p[0] == '\t')) {
        a.p++;
        a.len--;
    }
    while (a.len && (a.p[a.len - 1] == ' ' || a.p[a.len - 1] == '\t'))
        a.len--;
    return a;
}

/* Bounds-checked reader. Any read past the end sets `err` and returns 0; later reads keep
 * returning 0, so a parser may check `err` once at the end of a block. */
struct reader {
    const uint8_t *p;
    size_t len, off;
    int err;
};

static inline void rd_init(struct reader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
    r->err = 0;
}

static inline size_t rd_left(const struct reader *r)
{
    return r->err ? 0 : r->len - r->off;
}

static inline int rd_need(struct reader *r, size_t n)
{
    if (r->err || r->len - r->off < n) {
        r->err = 1;
        return 0;
    }
    return 1;
}

static inline uint8_t rd_u8(struct reader *r)
{
    if (!rd_need(r, 1))
        return 0;
    return r->p[r->off++];
}

static inline uint16_t rd_be16(struct reader *r)
{
    if (!rd_need(r, 2))
        return 0;
    uint16_t v = (uint16_t)((r->p[r->off] << 8) | r->p[r->off + 1]);
    r->off += 2;
    return v;
}

static inline uint32_t rd_be32(struct reader *r)
{
    if (!rd_need(r, 4))
        return 0;
    const uint8_t *q = r->p + r->off;
    r->off += 4;
    return ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3];
}

/* Returns a pointer to the next n bytes and advances, or NULL (and sets err). */
static inline const uint8_t *rd_bytes(struct reader *r, size_t n)
{
    if (!rd_need(r, n))
        return NULL;
    const uint8_t *q = r->p + r->off;
    r->off += n;
    return q;
}

static inline int rd_skip(struct reader *r, size_t n)
{
    return rd_bytes(r, n) != NULL;
}

#endif
