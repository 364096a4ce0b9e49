/* http_head_stream.c — reduces an oversized HTTP/1.x head to the lines that matter, as it
 * arrives (see http_head_stream.h).
 *
 * Pipeline: stream ─► [applayer: head_stream] ─► http1 ─► token scan. Owns the kept bytes.
 * Each line is read in one of three modes:
 *
 *   UNDECIDED  its first bytes go to buf tentatively, until the name ends (':'), the line ends,
 *              or HS_NAME_MAX bytes show it is no field we keep
 *   KEEP       the start line, a kept field, or an obs-fold of one: appended up to its LF
 *   SKIP       anything else: bytes are only searched for the LF (memchr), never stored
 *
 *   buf: [ start line | kept field | kept field | ... | line being read ... len ]
 *                                                       ^ line_start
 *
 * The bytes kept are exactly the bytes sent, so http1 applies its own leniencies (bare LF,
 * obs-fold, whitespace before the colon) to the reduced head as it would to the whole one.
 * RFC 9112 §2.2, §3, §5, §5.2.
 */
#include "http_head_stream.h"

#include <stdlib.h>
#include <string.h>

#define HS_NAME_MAX 256 /* no name we keep is longer: past this, the line is skipped */

enum { HS_START, HS_LINE };               /* before the start line; at or in a later line */
enum { M_UNDECIDED, M_KEEP, M_SKIP };     /* the current line's mode, in state>>4 */

/* The fields kept, by role; the configured token headers follow at index NKEEP. */
static const struct {
    const char *name;
    uint8_t request_only;
} keep_names[] = {
    {"content-length", 0}, {"transfer-encoding", 0}, {"connection", 0}, {"content-type", 0},
    {"content-encoding", 0}, {"host", 1}, {"user-agent", 1}, {"authorization", 1},
    {"proxy-authorization", 1}, {"cookie", 1}, {"dpop", 1},
};
#define NKEEP (sizeof(keep_names) / sizeof(keep_names[0]))

void head_stream_init(struct head_stream *hs, int request, const char *const *extra,
                      size_t nextra)
{
    memset(hs, 0, sizeof(*hs));
    hs->request = (uint8_t)(request != 0);
    hs->state = (uint8_t)(HS_START | (M_KEEP << 4)); /* the start line is kept */
    hs->extra = extra;
    hs->nextra = nextra;
}

void head_stream_reset(struct head_stream *hs)
{
    free(hs->buf);
    memset(hs, 0, sizeof(*hs));
}

static int mode_of(const struct head_stream *hs)
{
    return hs->state >> 4;
}

static void set_mode(struct head_stream *hs, int m)
{
    hs->state = (uint8_t)((hs->state & 0x0f) | (m << 4));
}

static int is_ws(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* Index of a kept name (keep_names, then the configured ones), or -1. */
static int kept_index(const struct head_stream *hs, struct span name)
{
    name = span_trim(name);
    for (size_t i = 0; i < NKEEP; i++)
        if ((hs->request || !keep_names[i].request_only) && span_ieq(name, keep_names[i].name))
            return (int)i;
    if (hs->request)
        for (size_t i = 0; i < hs->nextra && NKEEP + i < sizeof(hs->per_name); i++)
            if (hs->extra[i] && span_ieq(name, hs->extra[i]))
                return (int)(NKEEP + i);
    return -1;
}

/* Appends n bytes of the current (kept or undecided) line; 0 when a bound stops it. */
static int append(struct head_stream *hs, const uint8_t *p, size_t n, size_t *budget)
{
    if (hs->len + n - hs->line_start > HEAD_STREAM_LINE_MAX || hs->len + n > HEAD_STREAM_KEEP_MAX)
        return 0;
    if (hs->len + n > hs->cap) {
        size_t cap = hs->cap ? hs->cap : 1024;
        while (cap < hs->len + n)
            cap *= 2;
        if (cap > HEAD_STREAM_KEEP_MAX)
            cap = HEAD_STREAM_KEEP_MAX;
        if (cap - hs->cap > *budget)
            return 0;
        uint8_t *b = realloc(hs->buf, cap);
        if (!b)
            return 0;
        *budget -= cap - hs->cap;
        hs->buf = b;
        hs->cap = cap;
    }
    if (n)
        memcpy(hs->buf + hs->len, p, n);
    hs->len += n;
    return 1;
}

/* The current line cannot be kept: forget its bytes and skip to its end. */
static void drop_line(struct head_stream *hs, int cut)
{
    hs->len = hs->line_start;
    if (cut) {
        hs->cut++;
        if ((hs->state & 0x0f) == HS_START)
            hs->failed = 1; /* a request or status line we could not keep: nothing to parse */
    } else {
        hs->dropped++;
    }
    set_mode(hs, M_SKIP);
}

/* A field line's name is known (or cannot be one we keep): keep it or skip it. */
static void decide(struct head_stream *hs, int colon_seen)
{
    const uint8_t *l = hs->buf ? hs->buf + hs->line_start : NULL;
    size_t n = hs->len - hs->line_start;
    if (n && is_ws(l[0])) { /* obs-fold: belongs to the field before it */
        if (hs->keep_fold) {
            set_mode(hs, M_KEEP);
            return;
        }
        drop_line(hs, 0);
        return;
    }
    hs->keep_fold = 0;
    int k = -1;
    if (colon_seen) {
        const uint8_t *c = memchr(l, ':', n);
        k = kept_index(hs, span_make(l, (size_t)(c - l)));
    }
    if (k < 0) {
        drop_line(hs, 0);
        return;
    }
    if (hs->per_name[k] >= HEAD_STREAM_PER_NAME || hs->nfields >= HEAD_STREAM_FIELDS) {
        drop_line(hs, 1);
        return;
    }
    hs->per_name[k]++;
    hs->nfields++;
    hs->keep_fold = 1;
    set_mode(hs, M_KEEP);
}

/* The line ended with the LF just appended (kept or undecided) or skipped. */
static void line_end(struct head_stream *hs)
{
    int mode = mode_of(hs);
    size_t n = hs->len - hs->line_start;
    const uint8_t *l = hs->buf ? hs->buf + hs->line_start : NULL; /* nothing kept yet: n is 0 */
    int empty = mode != M_SKIP && (n == 1 || (n == 2 && l[0] == '\r'));
    if ((hs->state & 0x0f) == HS_START) {
        if (empty && hs->request) {
            hs->len = hs->line_start; /* empty lines before a request line: ignored */
        } else if (mode != M_SKIP) {
            hs->state = HS_LINE; /* the start line is kept */
        } else {
            hs->failed = 1;
            hs->state = HS_LINE;
        }
    } else if (empty) {
        hs->done = 1;
    } else if (mode == M_UNDECIDED) {
        decide(hs, 0);
        if (mode_of(hs) == M_SKIP)
            hs->len = hs->line_start;
    }
    hs->line_start = hs->len;
    hs->line_seen = 0;
    hs->state = (uint8_t)(hs->state & 0x0f);
    if ((hs->state & 0x0f) == HS_START)
        set_mode(hs, M_KEEP);
}

size_t head_stream_feed(struct head_stream *hs, const uint8_t *p, size_t n, size_t budget)
{
    size_t i = 0;
    while (i < n && !hs->done) {
        const uint8_t *lf = memchr(p + i, '\n', n - i);
        size_t end = lf ? (size_t)(lf - p) + 1 : n; /* this call's part of the line */
        if (memchr(p + i, '\0', end - i))
            hs->nul = 1;
        if (mode_of(hs) == M_UNDECIDED) {
            /* the name's bytes, up to ':', the line end or HS_NAME_MAX */
            size_t k = i;
            while (k < end && p[k] != ':' && p[k] != '\n' && hs->line_seen + (k - i) < HS_NAME_MAX)
                k++;
            int colon = k < end && p[k] == ':';
            size_t take = k - i + (size_t)colon;
            if (!append(hs, p + i, take, &budget)) {
                drop_line(hs, 1);
                continue;
            }
            hs->line_seen += take;
            i += take;
            if (!(k < end && p[k] == '\n')) {
                if (colon || hs->line_seen >= HS_NAME_MAX)
                    decide(hs, colon);
                continue;
            }
            /* at the LF of a line still undecided (no colon): line_end decides */
        }
        if (mode_of(hs) != M_SKIP && !append(hs, p + i, end - i, &budget))
            drop_line(hs, 1);
        hs->line_seen += end - i;
        i = end;
        if (lf)
            line_end(hs);
    }
    return i;
}
