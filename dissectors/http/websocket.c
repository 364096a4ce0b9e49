/* websocket.c — reads WebSocket frames and messages (RFC 6455) and inflates permessage-deflate
 * (RFC 7692); see websocket.h.
 *
 * Pipeline: applayer ─► app_ws ─► [websocket: frames ─► messages] ─► token scan. Owns, per
 * reader, the message buffer and the zlib stream; everything it allocates goes through
 * grant(), which keeps `mem` exact and refuses what the caller's `room` does not cover (zlib's
 * own allocations included, through zalloc/zfree).
 *
 *   bytes ─► header (gathered in hdr[], at most 14 bytes) ─► payload, unmasked as it passes:
 *     control frame ─► ctl[] ─► callback at its end
 *     data frame    ─► identity: straight into buf (up to limit)
 *                   ─► compressed: unmasked into a stack scratch, inflated into buf; past the
 *                      limit into a discard buffer: until a byte lands there when each message
 *                      stands alone (no context takeover), else while the sliding window must
 *                      stay in step
 *     FIN           ─► (compressed: the 00 00 ff ff tail inflated) ─► callback
 *
 * Work is linear in the input, and inflation is bounded by the bomb ratio: a truncated
 * compressed message is still inflated (into the discard buffer) when later messages need its
 * window, since every later message refers back into it.
 */
#include "websocket.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>

#define WS_FIRST_CAP 1024
#define WS_SCRATCH 4096
#define WS_BOMB_FLOOR (64u * 1024) /* as body.c: small messages may compress as they like */
#define WS_ALLOC_OVERHEAD 16       /* what malloc keeps beside each block */

/* ---- frame headers ---- */

static int is_control(uint8_t op)
{
    return (op & 0x8) != 0;
}

struct parse_result ws_frame_header_parse(const uint8_t *p, size_t n, struct ws_frame_header *h)
{
    struct parse_result r = {PARSE_NEED_MORE, 0, 2};
    if (n < 2)
        return r;
    uint8_t op = p[0] & 0x0f, len7 = p[1] & 0x7f;
    if (!(op <= WS_OP_BINARY || (op >= WS_OP_CLOSE && op <= WS_OP_PONG))) {
        r.status = PARSE_ERROR;
        return r;
    }
    if (is_control(op) && (!(p[0] & 0x80) || len7 > WS_CONTROL_MAX)) {
        r.status = PARSE_ERROR; /* §5.5: control frames are never fragmented, at most 125 */
        return r;
    }
    size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    size_t hlen = 2 + ext + ((p[1] & 0x80) ? 4 : 0);
    if (n < hlen) {
        r.needed = hlen;
        return r;
    }
    uint64_t len = len7;
    if (ext) {
        len = 0;
        for (size_t i = 0; i < ext; i++)
            len = len << 8 | p[2 + i];
        /* §5.2: the minimal number of bytes must be used; a 64-bit length has its top bit 0 */
        if ((ext == 2 && len < 126) || (ext == 8 && (len <= 0xffff || (len >> 63)))) {
            r.status = PARSE_ERROR;
            return r;
        }
    }
    h->fin = p[0] >> 7;
    h->rsv = (p[0] >> 4) & 7;
    h->opcode = op;
    h->masked = p[1] >> 7;
    memset(h->key, 0, sizeof(h->key));
    if (h->masked)
        memcpy(h->key, p + 2 + ext, 4);
    h->hlen = (uint8_t)hlen;
    h->len = len;
    r.status = PARSE_OK;
    r.consumed = hlen;
    r.needed = 0;
    return r;
}

void ws_unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], uint64_t off)
{
    size_t i = 0;
    /* to a 4-aligned payload offset, then four bytes at a time with the key in step */
    for (; i < n && (off + i) % 4; i++)
        dst[i] = src[i] ^ key[(off + i) % 4];
    uint32_t k;
    memcpy(&k, key, 4);
    for (; i + 4 <= n; i += 4) {
        uint32_t w;
        memcpy(&w, src + i, 4);
        w ^= k;
        memcpy(dst + i, &w, 4);
    }
    for (; i < n; i++)
        dst[i] = src[i] ^ key[(off + i) % 4];
}

/* ---- Sec-WebSocket-Extensions ---- */

/* "8".."15": the window bits a parameter may name; -1 otherwise. */
static int window_bits_of(struct span v)
{
    if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"')
        v = span_make(v.p + 1, v.len - 2);
    if (v.len == 0 || v.len > 2)
        return -1;
    int n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return -1;
        n = n * 10 + (v.p[i] - '0');
    }
    return n >= 8 && n <= 15 ? n : -1;
}

/* The parameters of one permessage-deflate offer or answer: "a; b=1; c". 1 valid, -1 not. */
static int deflate_params(struct span s, struct ws_deflate *d)
{
    uint8_t seen = 0;
    size_t i = 0;
    while (s.p && i <= s.len) {
        size_t j = i;
        while (j < s.len && s.p[j] != ';')
            j++;
        struct span prm = span_trim(span_make(s.p + i, j - i));
        i = j + 1;
        if (!prm.len)
            continue;
        const uint8_t *eq = memchr(prm.p, '=', prm.len);
        struct span name = span_trim(span_make(prm.p, eq ? (size_t)(eq - prm.p) : prm.len));
        struct span val = eq ? span_trim(span_make(eq + 1, (size_t)(prm.p + prm.len - eq - 1)))
                             : span_make(NULL, 0);
        static const char *const names[4] = {"client_no_context_takeover",
                                             "server_no_context_takeover",
                                             "client_max_window_bits", "server_max_window_bits"};
        int k = 0;
        while (k < 4 && !span_ieq(name, names[k]))
            k++;
        if (k == 4 || (seen & (1u << k)))
            return -1; /* unknown, or named twice (§7.1) */
        seen |= (uint8_t)(1u << k);
        if (k < 2) {
            if (eq)
                return -1;
            d->no_context_takeover[k] = 1;
        } else {
            /* client_max_window_bits may come without a value in an offer; an answer should
             * name one, and 15 is what none means */
            int bits = eq ? window_bits_of(val) : (k == 2 ? 15 : -1);
            if (bits < 0)
                return -1;
            d->max_window_bits[k - 2] = (uint8_t)bits;
        }
    }
    return 1;
}

int ws_extensions_parse(struct span value, struct ws_deflate *d)
{
    memset(d, 0, sizeof(*d));
    size_t i = 0;
    while (value.p && i <= value.len) {
        size_t j = i;
        while (j < value.len && value.p[j] != ',')
            j++;
        struct span ext = span_trim(span_make(value.p + i, j - i));
        i = j + 1;
        const uint8_t *semi = ext.len ? memchr(ext.p, ';', ext.len) : NULL;
        struct span name = span_trim(span_make(ext.p, semi ? (size_t)(semi - ext.p) : ext.len));
        if (!span_ieq(name, "permessage-deflate"))
            continue;
        struct ws_deflate t = {1, {0, 0}, {15, 15}};
        struct span prms = semi ? span_make(semi + 1, (size_t)(ext.p + ext.len - semi - 1))
                                : span_make(NULL, 0);
        if (deflate_params(prms, &t) < 0)
            return -1;
        *d = t;
        return 1; /* a server agrees to one permessage-deflate at most */
    }
    return 0;
}

/* ---- memory: every heap block goes through here ---- */

/* Takes `cost` bytes of the caller's room; 0 when it does not cover them. */
static int grant(struct ws_reader *r, size_t cost)
{
    if (cost > r->room)
        return 0;
    r->room -= cost;
    r->mem += cost;
    return 1;
}

/* zlib's allocator: a size header in front of each block so zfree can give the bytes back. */
static void *z_alloc(void *opaque, unsigned items, unsigned size)
{
    struct ws_reader *r = opaque;
    if (size && items > (SIZE_MAX - 16 - WS_ALLOC_OVERHEAD) / size)
        return Z_NULL;
    size_t n = (size_t)items * size + 16;
    if (!grant(r, n + WS_ALLOC_OVERHEAD))
        return Z_NULL;
    uint8_t *b = malloc(n);
    if (!b) {
        r->mem -= n + WS_ALLOC_OVERHEAD;
        return Z_NULL;
    }
    memcpy(b, &n, sizeof(n));
    return b + 16;
}

static void z_free(void *opaque, void *p)
{
    struct ws_reader *r = opaque;
    if (!p)
        return;
    uint8_t *b = (uint8_t *)p - 16;
    size_t n;
    memcpy(&n, b, sizeof(n));
    r->mem -= n + WS_ALLOC_OVERHEAD;
    free(b);
}

/* Room in buf for `need` bytes in all, up to the limit; returns the bytes buf can hold. */
static size_t reserve(struct ws_reader *r, size_t need)
{
    if (need > r->limit)
        need = r->limit;
    if (need <= r->cap)
        return r->cap;
    size_t cap = r->cap ? r->cap : WS_FIRST_CAP;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > r->limit)
        cap = r->limit;
    size_t extra = r->cap ? 0 : WS_ALLOC_OVERHEAD;
    if (!grant(r, cap - r->cap + extra)) {
        /* no room to double: as much of what is asked as the room still allows */
        size_t avail = r->room > extra ? r->room - extra : 0;
        cap = need - r->cap < avail ? need : r->cap + avail;
        if (cap < need)
            r->capped = 1;
        if (cap <= r->cap || !grant(r, cap - r->cap + extra))
            return r->cap;
    }
    uint8_t *b = realloc(r->buf, cap);
    if (!b) {
        r->mem -= cap - r->cap + extra;
        r->capped = 1;
        return r->cap;
    }
    r->buf = b;
    r->cap = cap;
    return cap;
}

/* ---- inflation ---- */

static z_stream *zs(struct ws_reader *r)
{
    return r->z;
}

/* The inflater for a compressed message: made on the first one, or known broken. */
static int z_ready(struct ws_reader *r)
{
    if (r->z)
        return !r->z_broken;
    z_stream *s = z_alloc(r, 1, sizeof(*s));
    if (!s)
        return 0;
    memset(s, 0, sizeof(*s));
    s->zalloc = z_alloc;
    s->zfree = z_free;
    s->opaque = r;
    if (inflateInit2(s, -(int)r->window_bits) != Z_OK) {
        z_free(r, s);
        return 0;
    }
    r->z = s;
    return 1;
}

/* Inflates in[0..n) of the message into buf, then past the limit into a discard buffer: with
 * context takeover to the message's end (later messages refer into its window), without it
 * until one byte lands there (`truncated`: then it stops). Stops the message on corrupt data
 * or a bomb. Inflating is split-independent, and so is where it stops (but for a bomb). */
static void inflate_in(struct ws_reader *r, const uint8_t *in, size_t n)
{
    r->msg_in += n;
    if (r->zerror || r->bomb || (r->truncated && r->no_context_takeover))
        return;
    uint8_t discard[WS_SCRATCH];
    z_stream *s = zs(r);
    s->next_in = in;
    s->avail_in = (uInt)n;
    for (;;) {
        uint8_t *out = discard;
        size_t room = sizeof(discard);
        if (r->len < r->limit && !r->capped) {
            size_t cap = reserve(r, r->len + WS_SCRATCH);
            if (cap > r->len) {
                out = r->buf + r->len;
                room = cap - r->len;
            }
        }
        if (room > UINT_MAX)
            room = UINT_MAX;
        s->next_out = out;
        s->avail_out = (uInt)room;
        int ret = inflate(s, Z_SYNC_FLUSH);
        size_t made = room - s->avail_out;
        r->msg_out += made;
        if (out == discard)
            r->truncated |= made != 0;
        else
            r->len += made;
        if (r->truncated && r->no_context_takeover)
            return; /* longer than the limit, and no later message needs this window: stop */
        if (ret == Z_STREAM_END) {
            /* a block with BFINAL set ended the stream: what follows starts a new one */
            inflateReset(s);
        } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
            r->zerror = 1;
            r->z_broken = 1; /* the window is lost: later messages cannot be decoded */
            return;
        }
        if (r->ratio && r->msg_out > WS_BOMB_FLOOR && r->msg_out / r->ratio > r->msg_in) {
            r->bomb = 1;
            r->z_broken = 1;
            return;
        }
        if (s->avail_in == 0 && s->avail_out != 0)
            return;
        if (ret == Z_BUF_ERROR && s->avail_out != 0)
            return; /* no progress possible */
    }
}

/* ---- messages ---- */

static void fail(struct ws_reader *r)
{
    r->status = WS_ERROR;
}

static void deliver(struct ws_reader *r, const struct ws_message *m, ws_message_fn fn, void *user)
{
    if (fn && fn(user, m))
        r->status = WS_STOP;
}

static void message_start(struct ws_reader *r)
{
    r->in_msg = 1;
    r->msg_opcode = r->fh.opcode;
    r->msg_compressed = (r->fh.rsv & 4) != 0;
    r->len = 0;
    r->truncated = r->capped = r->bomb = r->zerror = 0;
    r->msg_in = r->msg_out = 0;
    if (r->msg_compressed && !z_ready(r))
        r->zerror = 1; /* no memory for zlib, or the window was lost earlier */
}

static void message_end(struct ws_reader *r, ws_message_fn fn, void *user)
{
    if (r->msg_compressed && !r->zerror && !r->bomb) {
        static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff}; /* RFC 7692 §7.2.2 */
        inflate_in(r, tail, sizeof(tail));
    }
    if (r->msg_compressed && r->z && r->no_context_takeover) {
        inflateReset(zs(r)); /* each message is a stream of its own */
        r->z_broken = 0;
    }
    struct ws_message m = {r->msg_opcode, r->msg_compressed, r->truncated, r->capped,
                           r->bomb,       r->zerror,         r->buf,       r->len};
    r->in_msg = 0;
    r->messages++;
    deliver(r, &m, fn, user);
    r->len = 0;
}

/* Payload bytes of a data frame, masked as they came. */
static void message_data(struct ws_reader *r, const uint8_t *p, size_t n)
{
    if (!r->msg_compressed) {
        size_t keep = r->len < r->limit ? r->limit - r->len : 0;
        if (keep > n)
            keep = n;
        if (keep) {
            size_t cap = reserve(r, r->len + keep);
            if (cap - r->len < keep)
                keep = cap - r->len;
        }
        if (keep < n)
            r->truncated = 1;
        if (keep && r->fh.masked)
            ws_unmask(r->buf + r->len, p, keep, r->fh.key, r->off);
        else if (keep)
            memcpy(r->buf + r->len, p, keep);
        r->len += keep;
        return;
    }
    uint8_t scratch[WS_SCRATCH];
    for (size_t i = 0; i < n && !r->zerror && !r->bomb;) {
        size_t k = n - i < sizeof(scratch) ? n - i : sizeof(scratch);
        if (r->fh.masked)
            ws_unmask(scratch, p + i, k, r->fh.key, r->off + i);
        else
            memcpy(scratch, p + i, k);
        inflate_in(r, scratch, k);
        i += k;
    }
}

/* A frame header has been read: is it allowed here (RSV bits, fragmentation order)? */
static void frame_start(struct ws_reader *r)
{
    struct ws_frame_header *h = &r->fh;
    uint8_t op = h->opcode;
    if ((h->rsv & 3) || (h->rsv && (is_control(op) || op == WS_OP_CONTINUATION || !r->deflate))) {
        fail(r); /* RSV2/3: no extension of ours; RSV1 only on a message's first frame (§7692 6) */
        return;
    }
    if (op == WS_OP_CONTINUATION && !r->in_msg) {
        fail(r);
        return;
    }
    if ((op == WS_OP_TEXT || op == WS_OP_BINARY) && r->in_msg) {
        fail(r); /* §5.4: a message's fragments are not interleaved with another message's */
        return;
    }
    if (op == WS_OP_TEXT || op == WS_OP_BINARY)
        message_start(r);
    if (is_control(op))
        r->ctl_len = 0;
    r->in_frame = 1;
    r->left = h->len;
    r->off = 0;
}

static void frame_end(struct ws_reader *r, ws_message_fn fn, void *user)
{
    r->in_frame = 0;
    if (is_control(r->fh.opcode)) {
        struct ws_message m = {r->fh.opcode, 0, 0, 0, 0, 0, r->ctl, r->ctl_len};
        deliver(r, &m, fn, user);
    } else if (r->fh.fin) {
        message_end(r, fn, user);
    }
}

/* ---- the reader ---- */

void ws_reader_init(struct ws_reader *r, size_t limit, uint32_t ratio, const struct ws_deflate *d,
                    int sender)
{
    memset(r, 0, sizeof(*r));
    r->limit = limit;
    r->ratio = ratio;
    r->window_bits = 15;
    if (d && d->on) {
        int s = sender == WS_SERVER ? WS_SERVER : WS_CLIENT;
        r->deflate = 1;
        r->no_context_takeover = d->no_context_takeover[s];
        /* zlib's deflate turns a window of 8 into 9 (and writes distances to match), so a
         * peer that asked for 8 may get 9: inflating with a larger window is always safe */
        uint8_t b = d->max_window_bits[s];
        r->window_bits = b < 9 ? 9 : b > 15 ? 15 : b;
    }
}

enum ws_status ws_reader_feed(struct ws_reader *r, const uint8_t *p, size_t n, size_t room,
                              ws_message_fn fn, void *user)
{
    r->room = room;
    size_t i = 0;
    while (i < n && r->status == WS_OK) {
        if (!r->in_frame) {
            size_t want = 2;
            struct parse_result res;
            for (;;) {
                if (r->hdr_len < want) {
                    size_t k = want - r->hdr_len;
                    if (k > n - i)
                        k = n - i;
                    memcpy(r->hdr + r->hdr_len, p + i, k);
                    r->hdr_len = (uint8_t)(r->hdr_len + k);
                    i += k;
                    if (r->hdr_len < want)
                        break; /* the rest of the header comes later */
                }
                res = ws_frame_header_parse(r->hdr, r->hdr_len, &r->fh);
                if (res.status != PARSE_NEED_MORE)
                    break;
                want = res.needed;
            }
            if (r->hdr_len < want)
                break;
            r->hdr_len = 0;
            if (res.status == PARSE_ERROR) {
                fail(r);
                break;
            }
            frame_start(r);
            if (r->status != WS_OK)
                break;
        } else {
            uint64_t k64 = r->left < n - i ? r->left : n - i;
            size_t k = (size_t)k64;
            if (is_control(r->fh.opcode)) {
                /* at most 125 bytes in all (ws_frame_header_parse) */
                ws_unmask(r->ctl + r->ctl_len, p + i, k,
                          r->fh.masked ? r->fh.key : (const uint8_t[4]){0, 0, 0, 0}, r->off);
                r->ctl_len = (uint8_t)(r->ctl_len + k);
            } else {
                message_data(r, p + i, k);
            }
            i += k;
            r->left -= k;
            r->off += k;
        }
        if (r->in_frame && !r->left)
            frame_end(r, fn, user);
    }
    r->room = 0;
    return (enum ws_status)r->status;
}

void ws_reader_reset(struct ws_reader *r)
{
    if (r->z) {
        z_stream *s = zs(r);
        inflateEnd(s);
        z_free(r, s);
    }
    if (r->buf)
        free(r->buf);
    memset(r, 0, sizeof(*r));
}

/* ---- UTF-8 ---- */

int ws_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}
