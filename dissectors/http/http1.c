/* http1.c — HTTP/1.x message heads, body framing and the chunked transfer-coding.
 *
 * Pipeline: stream ─► [applayer: http1] ─► token scan. The stream layer hands us the unconsumed
 * bytes of one direction; we return spans into them (struct http1_msg) and how many bytes the
 * head took. Stateless between calls (picohttpparser style), no allocation, no I/O: the caller
 * owns the buffer and the message struct, and bounds the head size (we only say NEED_MORE).
 * The chunked decoder keeps its few words of state in a caller-provided struct http1_chunked.
 *
 * Lenient like a server, because a passive sensor must see what the server saw: bare LF line
 * ends, leading empty lines before a request line, SP/HTAB runs between request-line parts,
 * obs-fold, header lines without a colon (skipped), whitespace before the colon (trimmed).
 * Every leniency sets m->anomaly so it can reach EVE. NUL anywhere in a head is an error.
 *
 * RFC 9112 §2.2 (message parsing robustness), §3 (request line), §4 (status line),
 * §5 (field lines, §5.2 obs-fold), §6.1-6.3 (message body length), §7.1 (chunked coding),
 * §9.3/§9.6 (persistence: Connection close / keep-alive).
 */
#include "http1.h"

#include "hex.h"

/* RFC 9110 §5.6.2 tchar. */
static const uint8_t tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

static inline int is_ws(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static inline int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static struct parse_result result(int status, size_t consumed)
{
    struct parse_result r = {status, consumed, 0};
    return r;
}

/* The first anomaly wins: it is usually the cause of the later ones. */
static inline void anomaly(struct http1_msg *m, const char *why)
{
    if (!m->anomaly)
        m->anomaly = why;
}

/* Resets everything but the header array, which is written before it is read (nheaders). */
static void msg_reset(struct http1_msg *m)
{
    m->method = span_make(NULL, 0);
    m->uri = span_make(NULL, 0);
    m->status = 0;
    m->reason = span_make(NULL, 0);
    m->version_major = m->version_minor = 0;
    m->nheaders = 0;
    m->headers_dropped = 0;
    m->body_kind = HTTP1_BODY_NONE;
    m->content_length = 0;
    m->conn_close = 0;
    m->upgrade = 0;
    m->anomaly = NULL;
}

/* The LFs find_head_end met, in order, for parse_fields to reuse instead of searching each
 * line again (a head with more lines than this finds the rest with memchr). */
#define HEAD_LFS 64
struct head_lfs {
    size_t n;
    uint32_t at[HEAD_LFS];
};

/* The end of the head: the line end of the first empty line after the start line.
 * `lf` is the start line's LF. Returns the offset just past the empty line, or 0 if the head is
 * incomplete. One memchr per line, so a re-call on a partial head costs one linear scan. The
 * field lines' LFs go to *lfs (the first HEAD_LFS of them). */
static size_t find_head_end(const uint8_t *buf, size_t len, size_t lf, struct head_lfs *lfs)
{
    lfs->n = 0;
    for (;;) {
        size_t next = lf + 1;
        if (next >= len)
            return 0;
        if (buf[next] == '\n')
            return next + 1;
        if (buf[next] == '\r') {
            if (next + 1 >= len)
                return 0;
            if (buf[next + 1] == '\n')
                return next + 2;
        }
        const uint8_t *q = memchr(buf + next, '\n', len - next);
        if (!q)
            return 0;
        lf = (size_t)(q - buf);
        if (lfs->n < HEAD_LFS && lf <= UINT32_MAX)
            lfs->at[lfs->n++] = (uint32_t)lf;
    }
}

/* Line content [s, e) without its line end; a single CR before the LF belongs to the end. */
static size_t line_content_end(const uint8_t *buf, size_t s, size_t lf)
{
    return (lf > s && buf[lf - 1] == '\r') ? lf - 1 : lf;
}

static size_t skip_ws(const uint8_t *p, size_t i, size_t e)
{
    while (i < e && is_ws(p[i]))
        i++;
    return i;
}

/* "HTTP/" DIGIT "." DIGIT at p[i..e), the name in any letter case as servers (and Zeek) accept
 * it; only major version 1 is HTTP/1 (a "PRI * HTTP/2.0" preface must fail here so the caller
 * can try HTTP/2). Returns the index after it, or 0. */
static size_t parse_version(const uint8_t *p, size_t i, size_t e, struct http1_msg *m)
{
    if (e - i < 8 || !span_istarts(span_make(p + i, 5), "HTTP/") || !is_digit(p[i + 5]) ||
        p[i + 6] != '.' || !is_digit(p[i + 7]))
        return 0;
    m->version_major = p[i + 5] - '0';
    m->version_minor = p[i + 7] - '0';
    if (m->version_major != 1)
        return 0;
    return i + 8;
}

/* method SP+ request-target SP+ HTTP-version [SP*], over the line content [s, e). */
static int parse_request_line(const uint8_t *p, size_t s, size_t e, struct http1_msg *m)
{
    size_t i = s;
    while (i < e && tchar[p[i]])
        i++;
    if (i == s || i == e || !is_ws(p[i]))
        return -1;
    m->method = span_make(p + s, i - s);
    size_t after_method = i;
    i = skip_ws(p, i, e);
    size_t u = i;
    /* Any byte but whitespace: a sensor must see even targets the RFC forbids. */
    while (i < e && !is_ws(p[i]) && p[i] != '\r')
        i++;
    if (i == e && i > u && u - after_method >= 2 && parse_version(p, u, e, m) == e) {
        /* "GET  HTTP/1.1": two separators around a missing target, then the version */
        m->uri = span_make(p + u, 0);
        if (!m->anomaly)
            m->anomaly = "empty request target";
        return 0;
    }
    if (i == u || i == e || !is_ws(p[i]))
        return -1;
    m->uri = span_make(p + u, i - u);
    i = skip_ws(p, i, e);
    i = parse_version(p, i, e, m);
    if (!i)
        return -1;
    if (skip_ws(p, i, e) != e)
        return -1;
    return 0;
}

/* HTTP-version SP+ 3DIGIT [SP+ reason], over the line content [s, e). */
static int parse_status_line(const uint8_t *p, size_t s, size_t e, struct http1_msg *m)
{
    size_t i = parse_version(p, s, e, m);
    if (!i || i == e || !is_ws(p[i]))
        return -1;
    i = skip_ws(p, i, e);
    if (e - i < 3 || !is_digit(p[i]) || !is_digit(p[i + 1]) || !is_digit(p[i + 2]))
        return -1;
    m->status = (p[i] - '0') * 100 + (p[i + 1] - '0') * 10 + (p[i + 2] - '0');
    if (m->status < 100)
        return -1;
    i += 3;
    if (i < e && !is_ws(p[i]))
        return -1;
    i = skip_ws(p, i, e);
    m->reason = span_make(p + i, e - i);
    return 0;
}

/* What the framing rules need, gathered while fields are parsed so that headers past
 * HTTP1_MAX_HEADERS still count (a dropped Transfer-Encoding must not change the framing). */
struct framing {
    int te_seen, te_chunked;   /* te_chunked: the last coding seen so far is chunked */
    int cl_seen, cl_invalid;
    uint64_t cl;
    int conn_close, keep_alive;
};

/* Trims SP, HTAB and the CR/LF an obs-fold leaves inside a value. */
static struct span trim_folded(struct span a)
{
    while (a.len && (is_ws(a.p[0]) || a.p[0] == '\r' || a.p[0] == '\n')) {
        a.p++;
        a.len--;
    }
    while (a.len && (is_ws(a.p[a.len - 1]) || a.p[a.len - 1] == '\r' || a.p[a.len - 1] == '\n'))
        a.len--;
    return a;
}

/* Calls fn on each trimmed, non-empty element of a comma-separated list (RFC 9110 §5.6.1). */
static void each_element(struct span v, void (*fn)(struct span el, void *arg), void *arg)
{
    size_t s = 0;
    for (size_t i = 0; i <= v.len; i++) {
        if (i == v.len || v.p[i] == ',') {
            struct span el = trim_folded(span_make(v.p + s, i - s));
            if (el.len)
                fn(el, arg);
            s = i + 1;
        }
    }
}

static void te_element(struct span el, void *arg)
{
    struct framing *f = arg;
    const uint8_t *semi = memchr(el.p, ';', el.len); /* transfer-parameters don't matter */
    if (semi)
        el = trim_folded(span_make(el.p, (size_t)(semi - el.p)));
    f->te_chunked = span_ieq(el, "chunked");
}

static void connection_element(struct span el, void *arg)
{
    struct framing *f = arg;
    if (span_ieq(el, "close"))
        f->conn_close = 1;
    else if (span_ieq(el, "keep-alive"))
        f->keep_alive = 1;
}

/* Content-Length = 1*DIGIT; a list of identical values is the same length (RFC 9110 §8.6).
 * Returns 0 and sets *out, or -1 if invalid, or 1 if the list holds different values. */
static int parse_content_length(struct span v, uint64_t *out)
{
    int have = 0, differ = 0;
    size_t s = 0;
    for (size_t i = 0; i <= v.len; i++) {
        if (i < v.len && v.p[i] != ',')
            continue;
        struct span el = trim_folded(span_make(v.p + s, i - s));
        s = i + 1;
        if (!el.len)
            return -1;
        uint64_t n = 0;
        for (size_t k = 0; k < el.len; k++) {
            if (!is_digit(el.p[k]) || n > (UINT64_MAX >> 1) / 10)
                return -1;
            n = n * 10 + (uint64_t)(el.p[k] - '0');
        }
        if (have && n != *out)
            differ = 1;
        else if (!have)
            *out = n;
        have = 1;
    }
    return differ;
}

static void note_field(struct framing *f, struct span name, struct span value,
                       struct http1_msg *m)
{
    switch (name.len) {
    case 10:
        if (span_ieq(name, "connection"))
            each_element(value, connection_element, f);
        break;
    case 14:
        if (span_ieq(name, "content-length")) {
            uint64_t n = 0;
            int rc = parse_content_length(value, &n);
            if (rc < 0) {
                f->cl_invalid = 1;
                anomaly(m, "invalid Content-Length");
            } else if (!f->cl_seen) {
                f->cl_seen = 1;
                f->cl = n;
                if (rc > 0)
                    anomaly(m, "conflicting Content-Length values");
            } else if (rc > 0 || n != f->cl) {
                anomaly(m, "conflicting Content-Length values");
            }
        }
        break;
    case 17:
        if (span_ieq(name, "transfer-encoding")) {
            f->te_seen = 1;
            each_element(value, te_element, f);
        }
        break;
    }
}

/* Field lines from `i` (just past the start line) up to `end` (just past the empty line).
 *
 *   name ":" OWS value OWS (CR)LF
 *   SP/HTAB continuation (CR)LF       <- obs-fold: extends the pending value, raw
 *
 * A field is kept pending until the next non-fold line so a fold can still extend it before
 * framing looks at it. */
static void parse_fields(const uint8_t *p, size_t i, size_t end, const struct head_lfs *lfs,
                         struct http1_msg *m, struct framing *f)
{
    size_t li = 0;
    struct span pname = {NULL, 0}, pval = {NULL, 0};
    int pending = 0;
    struct http1_header *kept = NULL; /* the stored copy of the pending field, if kept */

    while (i < end) {
        /* find_head_end met these lines' LFs in this order; past them, search */
        size_t lf = li < lfs->n ? lfs->at[li++]
                                : (size_t)((const uint8_t *)memchr(p + i, '\n', end - i) - p);
        size_t e = line_content_end(p, i, lf);
        size_t s = i;
        i = lf + 1;
        if (e == s)
            break; /* the empty line */
        if (is_ws(p[s])) {
            anomaly(m, "obs-fold");
            if (!pending)
                continue; /* a fold with nothing to continue: ignored, RFC 9112 §2.2 */
            struct span more = span_trim(span_make(p + s, e - s));
            if (!more.len)
                continue;
            if (!pval.len)
                pval.p = more.p;
            pval.len = (size_t)(more.p + more.len - pval.p);
            if (kept)
                kept->value = pval;
            continue;
        }
        if (pending)
            note_field(f, pname, pval, m);
        pending = 0;
        kept = NULL;

        /* The usual line, token characters straight up to the colon (':' is no tchar), in
         * one pass; anything else takes the path that names what is wrong. */
        size_t k = s;
        while (k < e && tchar[p[k]])
            k++;
        const uint8_t *colon;
        struct span name;
        if (k > s && k < e && p[k] == ':') {
            colon = p + k;
            name = span_make(p + s, k - s);
        } else {
            colon = memchr(p + s, ':', e - s);
            if (!colon) {
                anomaly(m, "header line without colon");
                continue;
            }
            name = span_make(p + s, (size_t)(colon - (p + s)));
            struct span tname = span_trim(name);
            if (tname.len != name.len) {
                anomaly(m, "whitespace before colon");
                name = tname;
            }
            k = 0;
            while (k < name.len && tchar[name.p[k]])
                k++;
            if (!name.len || k != name.len) {
                anomaly(m, "invalid header name");
                continue;
            }
        }
        size_t v = (size_t)(colon - p) + 1;
        pname = name;
        pval = span_trim(span_make(p + v, e - v));
        pending = 1;
        if (m->nheaders < HTTP1_MAX_HEADERS) {
            kept = &m->headers[m->nheaders++];
            kept->name = pname;
            kept->value = pval;
        } else {
            m->headers_dropped++;
        }
    }
    if (pending)
        note_field(f, pname, pval, m);
}

/* The shared part of both parsers after the start line's LF at `lf`. */
static struct parse_result parse_head(const uint8_t *buf, size_t len, size_t start, size_t lf,
                                      struct http1_msg *m, struct framing *f)
{
    struct head_lfs lfs;
    size_t end = find_head_end(buf, len, lf, &lfs);
    if (!end)
        return result(PARSE_NEED_MORE, 0);
    if (memchr(buf + start, '\0', end - start))
        return result(PARSE_ERROR, 0);
    memset(f, 0, sizeof(*f));
    parse_fields(buf, lf + 1, end, &lfs, m, f);
    m->conn_close =
        f->conn_close || (m->version_major == 1 && m->version_minor == 0 && !f->keep_alive);
    if (f->te_seen && f->cl_seen)
        anomaly(m, "Transfer-Encoding with Content-Length");
    return result(PARSE_OK, end);
}

/* Nothing to free: *m holds spans into buf. On NEED_MORE or ERROR *m is unspecified. A line
 * that cannot start a request fails as soon as it is complete, before the head is. */
struct parse_result http1_parse_request(const uint8_t *buf, size_t len, struct http1_msg *m)
{
    msg_reset(m);
    size_t i = 0;
    /* RFC 9112 §2.2: at least one empty line before a request-line SHOULD be ignored. */
    while (i < len && (buf[i] == '\n' || buf[i] == '\r')) {
        if (buf[i] == '\r') {
            if (i + 1 == len)
                return result(PARSE_NEED_MORE, 0);
            if (buf[i + 1] != '\n')
                return result(PARSE_ERROR, 0);
            i++;
        }
        i++;
    }
    if (i == len)
        return result(PARSE_NEED_MORE, 0);
    const uint8_t *q = memchr(buf + i, '\n', len - i);
    if (!q) {
        /* Not yet a line, but junk can be refused now rather than after a full head. */
        if (!tchar[buf[i]])
            return result(PARSE_ERROR, 0);
        return result(PARSE_NEED_MORE, 0);
    }
    size_t lf = (size_t)(q - buf);
    if (parse_request_line(buf, i, line_content_end(buf, i, lf), m) < 0)
        return result(PARSE_ERROR, 0);

    if (i)
        anomaly(m, "empty lines before request line");
    struct framing f;
    struct parse_result r = parse_head(buf, len, i, lf, m, &f);
    if (r.status != PARSE_OK)
        return r;
    /* RFC 9112 §6.3: chunked as the final coding, else Content-Length, else no body. */
    if (f.te_seen) {
        if (f.te_chunked) {
            m->body_kind = HTTP1_BODY_CHUNKED;
        } else {
            /* The server answers 400 and closes (§6.3 item 4); the length is unknowable. */
            anomaly(m, "Transfer-Encoding not ending in chunked");
            m->conn_close = 1;
            if (f.cl_seen && !f.cl_invalid) {
                m->body_kind = HTTP1_BODY_LENGTH;
                m->content_length = f.cl;
            }
        }
    } else if (f.cl_seen && !f.cl_invalid) {
        m->body_kind = HTTP1_BODY_LENGTH;
        m->content_length = f.cl;
    }
    return r;
}

/* As http1_parse_request. req_method is compared case-sensitively (RFC 9110 §9.1). */
struct parse_result http1_parse_response(const uint8_t *buf, size_t len, struct http1_msg *m,
                                         struct span req_method)
{
    msg_reset(m);
    const uint8_t *q = memchr(buf, '\n', len);
    if (!q) {
        if (len && (buf[0] | 0x20) != 'h') /* the version's name in any case, as below */
            return result(PARSE_ERROR, 0);
        return result(PARSE_NEED_MORE, 0);
    }
    size_t lf = (size_t)(q - buf);
    if (parse_status_line(buf, 0, line_content_end(buf, 0, lf), m) < 0)
        return result(PARSE_ERROR, 0);

    struct framing f;
    struct parse_result r = parse_head(buf, len, 0, lf, m, &f);
    if (r.status != PARSE_OK)
        return r;
    int st = m->status;
    if (st == 101)
        m->upgrade = 1;
    if (st < 200 || st == 204 || st == 304 || span_eq(req_method, "HEAD")) {
        m->body_kind = HTTP1_BODY_NONE;
    } else if (span_eq(req_method, "CONNECT") && st < 300) {
        m->body_kind = HTTP1_BODY_NONE;
        m->upgrade = 1;
    } else if (f.te_seen) {
        m->body_kind = f.te_chunked ? HTTP1_BODY_CHUNKED : HTTP1_BODY_CLOSE;
    } else if (f.cl_seen && !f.cl_invalid) {
        m->body_kind = HTTP1_BODY_LENGTH;
        m->content_length = f.cl;
    } else {
        /* Including an invalid Content-Length: reading to close loses the least (§6.3 item 5). */
        m->body_kind = HTTP1_BODY_CLOSE;
    }
    return r;
}

struct span http1_header_get(const struct http1_msg *m, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < m->nheaders; i++)
        if (span_ieq_len(m->headers[i].name, name, n))
            return m->headers[i].value;
    return span_make(NULL, 0);
}

/* ---- chunked transfer-coding (RFC 9112 §7.1) ----
 *
 *   chunk-size [BWS] [; ext...] CRLF   chunk-data CRLF   ...   "0" [; ext] CRLF
 *   *( trailer-field CRLF ) CRLF
 *
 * Bare LF is accepted wherever CRLF is expected. Size lines and the trailer section are bounded
 * so that a peer cannot make us scan forever without producing data. */

#define CHUNK_MAX_SIZE_LINE 1024
#define CHUNK_MAX_TRAILERS 8192
#define CHUNK_MAX_HEX_DIGITS 16

enum {
    CH_SIZE_FIRST = 0, /* expecting the first hex digit */
    CH_SIZE,           /* in hex digits */
    CH_SIZE_WS,        /* after the digits: spaces, ';' or line end */
    CH_SIZE_LF,        /* CR seen, LF expected */
    CH_EXT,            /* chunk extension: skipped up to LF */
    CH_DATA,
    CH_DATA_CR,        /* CRLF after the data */
    CH_DATA_LF,
    CH_TRAILER_START,  /* at the start of a trailer line or the final empty line */
    CH_TRAILER_LINE,
    CH_TRAILER_LF,     /* CR at the start of a line: the end, once LF follows */
    CH_DONE,
    CH_ERROR,
};

void http1_chunked_init(struct http1_chunked *c)
{
    c->state = CH_SIZE_FIRST;
    c->remaining = 0;
    c->line_len = 0;
}

/* The size line ended: a zero size starts the trailer section. */
static void size_line_done(struct http1_chunked *c)
{
    c->line_len = 0;
    c->state = c->remaining ? CH_DATA : CH_TRAILER_START;
}

/* No allocation; data points into buf. After PARSE_ERROR the decoder stays failed until
 * http1_chunked_init; after done it keeps answering PARSE_OK/done with nothing consumed. */
struct parse_result http1_chunked_feed(struct http1_chunked *c, const uint8_t *buf, size_t len,
                                       struct span *data, int *done)
{
    size_t i = 0;
    *data = span_make(NULL, 0);
    *done = 0;
    if (c->state == CH_ERROR)
        return result(PARSE_ERROR, 0);
    while (c->state != CH_DONE) {
        if (c->state == CH_DATA) {
            if (i == len)
                break;
            size_t n = len - i;
            if ((uint64_t)n > c->remaining)
                n = (size_t)c->remaining;
            *data = span_make(buf + i, n);
            c->remaining -= n;
            if (!c->remaining)
                c->state = CH_DATA_CR;
            return result(PARSE_OK, i + n);
        }
        if (i == len)
            break;
        if (c->state == CH_TRAILER_LINE) {
            const uint8_t *q = memchr(buf + i, '\n', len - i);
            size_t n = q ? (size_t)(q - (buf + i)) + 1 : len - i;
            c->line_len += n;
            if (c->line_len > CHUNK_MAX_TRAILERS)
                goto fail;
            i += n;
            if (q)
                c->state = CH_TRAILER_START;
            continue;
        }
        uint8_t ch = buf[i++];
        switch (c->state) {
        case CH_SIZE_FIRST:
        case CH_SIZE: {
            int h = hex_digit(ch);
            if (h >= 0) {
                if (++c->line_len > CHUNK_MAX_HEX_DIGITS)
                    goto fail;
                c->remaining = (c->remaining << 4) | (uint64_t)h;
                c->state = CH_SIZE;
                break;
            }
            if (c->state == CH_SIZE_FIRST || c->remaining > ((uint64_t)1 << 63))
                goto fail;
            c->state = CH_SIZE_WS;
        }
            /* fall through */
        case CH_SIZE_WS:
            if (++c->line_len > CHUNK_MAX_SIZE_LINE)
                goto fail;
            if (is_ws(ch))
                break;
            if (ch == ';')
                c->state = CH_EXT;
            else if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (ch == '\n')
                size_line_done(c);
            else
                goto fail;
            break;
        case CH_SIZE_LF:
            if (ch != '\n')
                goto fail;
            size_line_done(c);
            break;
        case CH_EXT:
            if (++c->line_len > CHUNK_MAX_SIZE_LINE)
                goto fail;
            if (ch == '\n')
                size_line_done(c);
            break;
        case CH_DATA_CR:
            if (ch == '\r')
                c->state = CH_DATA_LF;
            else if (ch == '\n')
                c->state = CH_SIZE_FIRST;
            else
                goto fail;
            break;
        case CH_DATA_LF:
            if (ch != '\n')
                goto fail;
            c->state = CH_SIZE_FIRST;
            break;
        case CH_TRAILER_START:
            if (++c->line_len > CHUNK_MAX_TRAILERS)
                goto fail;
            if (ch == '\n')
                c->state = CH_DONE;
            else if (ch == '\r')
                c->state = CH_TRAILER_LF;
            else
                c->state = CH_TRAILER_LINE;
            break;
        case CH_TRAILER_LF:
            if (ch != '\n')
                goto fail;
            c->state = CH_DONE;
            break;
        default:
            goto fail;
        }
    }
    if (c->state == CH_DONE) {
        *done = 1;
        return result(PARSE_OK, i);
    }
    return result(PARSE_NEED_MORE, i);
fail:
    c->state = CH_ERROR;
    return result(PARSE_ERROR, i);
}
