/* hpack.c — HPACK header block decoding (RFC 7541) for a passive observer (see hpack.h).
 *
 * Pipeline: app_http2 (HEADERS + CONTINUATION joined) ─► [hpack] ─► header fields (callback).
 * Huffman decoding: 12 bits a lookup (hpack_huffman.c, generated from RFC 7541 Appendix B).
 * Owns one direction's dynamic table, a scratch buffer for Huffman output and the memo of the last
 * long Huffman string (MEMO_MIN); every allocation is counted in d->mem with the allocator's
 * overhead.
 *
 * The dynamic table (§2.3.2, §4). Entries live as records in a ring (`ring`, newest at `head`)
 * and their bytes (name then value) in one buffer `buf` laid out as a ring too: a new entry goes
 * just past the newest (`wpos`) or, when it does not fit before the end, at 0 (`wrap` set) while
 * the oldest entries are still at the top. The buffer grows to at most twice max_size, which
 * always leaves room: the live bytes are at most max_size - 32 per entry - the new entry, and
 * the one gap a wrap leaves is shorter than the entry placed at 0, which is live. So inserting
 * allocates nothing once the buffer has grown; a field only copies into it.
 *
 *   buf: [ newest ...wpos )[ free ][ oldest ... older )[ gap ]      (wrap set)
 *
 * Late join (hpack.h). Dynamic index k (62 + k on the wire) is the k-th newest insertion still
 * held, and the encoder evicts oldest first, so an entry inserted after the join sits at its
 * exact index for as long as the encoder keeps it; an index past our `count` is an older entry.
 * A literal whose name is such an entry is inserted with its name unknown (NAME_UNKNOWN, no name
 * bytes), and its §4.1 size counts the name as 0. That lower bound is safe: our size never
 * exceeds the encoder's, so we never evict an entry the encoder still holds; what we keep past
 * the encoder's eviction is never referenced (the encoder only names entries it holds). A later
 * fully indexed reference to such an entry is emitted like the literal was: its value, an empty
 * name, INDEXED | NAME_UNKNOWN.
 *
 * Errors. Those that leave the representations' boundaries known (index 0; with from_start an
 * index beyond every insertion; a size update above a known limit or after a field) do not end
 * the block: the table is forgotten where they occur (from_start cleared), the field at fault
 * is dropped, and the rest of the block decodes as after a late join; the block's status is the
 * first error. Those that lose the boundaries (truncated, integer over 2^32-1, Huffman, too
 * long, out of memory) end the block, and the table is forgotten too.
 */
#include "hpack.h"

#include <stdlib.h>
#include <string.h>

#include "hpack_int.h"

#define ENTRY_OVERHEAD 32     /* §4.1 */
#define ALLOC_SLACK 16        /* glibc's chunk header and rounding, charged per allocation */
#define SCRATCH_KEEP 0u       /* a scratch buffer above this is freed at the end of a block:
                                 none is kept between blocks, as many decoders live at once */
/* Huffman strings of MEMO_MIN..MEMO_MAX coded bytes are remembered, the last one per decoder: a
 * client sends the same bearer token (a never-indexed literal, coded the same way) in every
 * request of a connection, and decoding it is most of the cost of a request's block. */
#define MEMO_MIN 256u
#define MEMO_MAX 8192u
#define NO_OFF ((size_t)-1)

struct hpack_entry {
    uint32_t off, name_len, value_len, flags; /* flags: HPACK_F_NAME_UNKNOWN or 0 */
};

/* RFC 7541 Appendix A. */
#define E(n, v) {(const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), sizeof(v) - 1}
static const struct {
    const uint8_t *name;
    uint8_t name_len;
    const uint8_t *value;
    uint8_t value_len;
} static_table[61] = {
    E(":authority", ""), E(":method", "GET"), E(":method", "POST"), E(":path", "/"),
    E(":path", "/index.html"), E(":scheme", "http"), E(":scheme", "https"),
    E(":status", "200"), E(":status", "204"), E(":status", "206"), E(":status", "304"),
    E(":status", "400"), E(":status", "404"), E(":status", "500"), E("accept-charset", ""),
    E("accept-encoding", "gzip, deflate"), E("accept-language", ""), E("accept-ranges", ""),
    E("accept", ""), E("access-control-allow-origin", ""), E("age", ""), E("allow", ""),
    E("authorization", ""), E("cache-control", ""), E("content-disposition", ""),
    E("content-encoding", ""), E("content-language", ""), E("content-length", ""),
    E("content-location", ""), E("content-range", ""), E("content-type", ""), E("cookie", ""),
    E("date", ""), E("etag", ""), E("expect", ""), E("expires", ""), E("from", ""),
    E("host", ""), E("if-match", ""), E("if-modified-since", ""), E("if-none-match", ""),
    E("if-range", ""), E("if-unmodified-since", ""), E("last-modified", ""), E("link", ""),
    E("location", ""), E("max-forwards", ""), E("proxy-authenticate", ""),
    E("proxy-authorization", ""), E("range", ""), E("referer", ""), E("refresh", ""),
    E("retry-after", ""), E("server", ""), E("set-cookie", ""),
    E("strict-transport-security", ""), E("transfer-encoding", ""), E("user-agent", ""),
    E("vary", ""), E("via", ""), E("www-authenticate", ""),
};
#undef E
#define STATIC_COUNT 61u

static const uint8_t empty[1];

/* The next input bits sit at the top of a 64-bit word (`avail` of them real; below them zeros, or
 * the same bits again from an 8-byte load, which the next load ORs in unchanged). A lookup of the
 * top 12 bits decodes one or two symbols at a time; longer codes go through the canonical
 * tables. A decision never rests on bits beyond `avail`: a code is taken only when it fits, so
 * at the end what is left must be under 8 bits, all ones (the most significant bits of EOS). */
long hpack_huffman_decode(const uint8_t *src, size_t n, uint8_t *dst)
{
    const uint8_t *end = src + n;
    uint8_t *o = dst;
    uint64_t bits = 0;
    unsigned avail = 0;
    for (;;) {
        if (avail < 32) {
            if (end - src >= 8) {
                uint64_t w;
                memcpy(&w, src, 8);
                bits |= __builtin_bswap64(w) >> avail;
                unsigned k = (63 - avail) >> 3;
                src += k;
                avail += k * 8;
            } else {
                while (avail <= 56 && src < end) {
                    bits |= (uint64_t)*src++ << (56 - avail);
                    avail += 8;
                }
                if (avail == 0)
                    break;
            }
        }
        uint32_t e = hpack_huf_fast[bits >> 52];
        unsigned len = HUF_LEN(e);
        if (len && len <= avail) {
            /* both stores stay inside n * 8 / 5 + 1: each symbol emitted took 5 bits or more */
            o[0] = HUF_SYM0(e);
            o[1] = HUF_SYM1(e);
            o += HUF_NSYM(e);
            bits <<= len;
            avail -= len;
            continue;
        }
        unsigned l, sym;
        if (len) { /* the second code, or the only one, runs past the input */
            l = HUF_LEN1(e);
            sym = HUF_SYM0(e);
        } else {
            for (l = 13;; l++) {
                uint32_t code = (uint32_t)(bits >> (64 - l));
                if (code < hpack_huf_limit[l]) {
                    sym = hpack_huf_sym[(int32_t)code + hpack_huf_off[l]];
                    break;
                }
            }
        }
        if (l > avail)
            break; /* what is left does not hold a code: padding */
        if (sym == 256)
            return -1; /* EOS */
        *o++ = (uint8_t)sym;
        bits <<= l;
        avail -= l;
    }
    if (avail > 7 || (avail && (bits >> (64 - avail)) != (1u << avail) - 1))
        return -1;
    return (long)(o - dst);
}

const char *hpack_status_name(enum hpack_status s)
{
    switch (s) {
    case HPACK_OK:
        return "ok";
    case HPACK_ERR_TRUNCATED:
        return "truncated";
    case HPACK_ERR_INVALID:
        return "invalid";
    case HPACK_ERR_HUFFMAN:
        return "huffman";
    case HPACK_ERR_TOO_LONG:
        return "too long";
    case HPACK_ERR_MEMORY:
        return "out of memory";
    }
    return "unknown";
}

/* ---- allocations, each counted in d->mem ---- */

static size_t cost(size_t n)
{
    return n ? n + ALLOC_SLACK : 0;
}

static void *xrealloc(struct hpack_dec *d, void *p, size_t old, size_t n)
{
    if (n == 0) {
        free(p);
        d->mem -= cost(old);
        return NULL;
    }
    void *q = realloc(p, n);
    if (q) {
        d->mem -= cost(old);
        d->mem += cost(n);
    }
    return q;
}

static int scratch_reserve(struct hpack_dec *d, size_t need)
{
    if (need <= d->scratch_cap)
        return 0;
    size_t cap = d->scratch_cap * 2;
    if (cap < need)
        cap = need;
    if (cap < 256)
        cap = 256;
    uint8_t *s = xrealloc(d, d->scratch, d->scratch_cap, cap);
    if (!s)
        return -1;
    d->scratch = s;
    d->scratch_cap = cap;
    return 0;
}

/* Remembers a decoded Huffman string (memo); without memory it is simply not remembered. */
static void memo_keep(struct hpack_dec *d, const uint8_t *in, size_t n, const uint8_t *out,
                      size_t m)
{
    d->memo_in = 0;
    if (n + m > d->memo_cap) {
        uint8_t *q = xrealloc(d, d->memo, d->memo_cap, n + m);
        if (!q)
            return;
        d->memo = q;
        d->memo_cap = (uint32_t)(n + m);
    }
    memcpy(d->memo, in, n);
    memcpy(d->memo + n, out, m);
    d->memo_in = (uint32_t)n;
    d->memo_out = (uint32_t)m;
}

/* ---- the dynamic table ---- */

/* The k-th newest known entry (k < count). */
static struct hpack_entry *entry(const struct hpack_dec *d, uint32_t k)
{
    uint32_t i = d->head >= k ? d->head - k : d->head + d->ring_cap - k;
    return &d->ring[i];
}

static const uint8_t *bytes_at(const struct hpack_dec *d, uint32_t off)
{
    return d->buf ? d->buf + off : empty;
}

static size_t entry_size(const struct hpack_entry *e)
{
    return ENTRY_OVERHEAD + (size_t)e->name_len + e->value_len;
}

static void table_clear(struct hpack_dec *d)
{
    d->count = 0;
    d->size = 0;
    d->wpos = 0;
    d->wrap = 0;
}

static void evict_oldest(struct hpack_dec *d)
{
    struct hpack_entry *e = entry(d, d->count - 1);
    d->size -= entry_size(e);
    if (--d->count == 0) {
        table_clear(d);
        return;
    }
    if (entry(d, d->count - 1)->off < e->off)
        d->wrap = 0; /* the oldest is now at the bottom: the bytes no longer wrap */
}

static void evict_to(struct hpack_dec *d, size_t max)
{
    while (d->count && d->size > max)
        evict_oldest(d);
}

/* Gives the ring `rcap` records (at least count), the oldest first. */
static int ring_resize(struct hpack_dec *d, uint32_t rcap)
{
    struct hpack_entry *nr = NULL;
    if (rcap) {
        nr = malloc((size_t)rcap * sizeof(*nr));
        if (!nr)
            return -1;
    }
    for (uint32_t i = 0; i < d->count; i++)
        nr[i] = *entry(d, d->count - 1 - i);
    free(d->ring);
    d->mem = d->mem - cost((size_t)d->ring_cap * sizeof(*nr)) + cost((size_t)rcap * sizeof(*nr));
    d->ring = nr;
    d->ring_cap = rcap;
    d->head = d->count ? d->count - 1 : 0;
    return 0;
}

/* Copies the known entries' bytes, oldest first, to the start of a new buffer of `cap` bytes,
 * then (when name is given) the new entry's name and value just after them, at *at; frees the
 * old buffer last, so the name may be one of its entries, even one evicted for this insertion. */
static int buf_resize(struct hpack_dec *d, size_t cap, const struct span *name,
                      const struct span *value, uint32_t *at)
{
    uint8_t *nb = NULL;
    if (cap && !(nb = malloc(cap)))
        return -1;
    uint32_t w = 0;
    for (uint32_t i = 0; i < d->count; i++) {
        struct hpack_entry *e = entry(d, d->count - 1 - i);
        uint32_t len = e->name_len + e->value_len;
        if (len)
            memcpy(nb + w, d->buf + e->off, len);
        e->off = w;
        w += len;
    }
    if (name) {
        *at = w;
        if (name->len)
            memcpy(nb + w, name->p, name->len);
        if (value->len)
            memcpy(nb + w + name->len, value->p, value->len);
    }
    free(d->buf);
    d->mem = d->mem - cost(d->buf_cap) + cost(cap);
    d->buf = nb;
    d->buf_cap = (uint32_t)cap;
    d->wpos = w;
    d->wrap = 0;
    return 0;
}

/* Where the next `len` bytes go without overwriting a live entry: 0 and *at, or -1. */
static int place(struct hpack_dec *d, size_t len, uint32_t *at)
{
    if (d->count == 0) {
        d->wpos = 0;
        d->wrap = 0;
    }
    uint32_t oldest = d->count ? entry(d, d->count - 1)->off : 0;
    if (!d->wrap) {
        if (d->buf_cap - d->wpos >= len) {
            *at = d->wpos;
            return 0;
        }
        if (d->count && oldest >= len) {
            *at = 0;
            d->wrap = 1;
            return 0;
        }
        return -1;
    }
    if (oldest - d->wpos >= len) {
        *at = d->wpos;
        return 0;
    }
    return -1;
}

/* §4.4: inserts (name, value) as the newest entry, evicting as needed. The name may be an entry
 * that this insertion evicts: its bytes are still in buf, moved (memmove) before the value is
 * written, or copied by buf_resize before the old buffer goes. */
static enum hpack_status insert(struct hpack_dec *d, struct span name, struct span value,
                                unsigned flags)
{
    size_t len = name.len + value.len;
    if (ENTRY_OVERHEAD + len > d->max_size) {
        table_clear(d); /* an entry larger than the table empties it and is not added */
        return HPACK_OK;
    }
    evict_to(d, d->max_size - ENTRY_OVERHEAD - len);
    if (d->count == d->ring_cap) {
        /* at most max_size / 32 entries fit */
        uint32_t most = (uint32_t)(d->max_size / ENTRY_OVERHEAD);
        uint32_t rcap = d->ring_cap ? d->ring_cap * 2 : 8;
        if (ring_resize(d, rcap < most ? rcap : most) < 0)
            return HPACK_ERR_MEMORY;
    }
    uint32_t at;
    if (place(d, len, &at) == 0) {
        if (name.len)
            memmove(d->buf + at, name.p, name.len);
        if (value.len)
            memcpy(d->buf + at + name.len, value.p, value.len);
    } else {
        /* grow the buffer (to at most 2 * max_size: see the top of this file) */
        size_t live = 0;
        for (uint32_t k = 0; k < d->count; k++)
            live += (size_t)entry(d, k)->name_len + entry(d, k)->value_len;
        size_t cap = d->buf_cap < 256 ? 512 : (size_t)d->buf_cap * 2;
        if (cap > 2 * d->max_size)
            cap = 2 * d->max_size;
        if (cap < live + len)
            cap = live + len;
        if (buf_resize(d, cap, &name, &value, &at) < 0)
            return HPACK_ERR_MEMORY;
    }
    d->wpos = at + (uint32_t)len;
    d->head = d->count == 0 ? 0 : d->head + 1 == d->ring_cap ? 0 : d->head + 1;
    struct hpack_entry *e = &d->ring[d->head];
    e->off = at;
    e->name_len = (uint32_t)name.len;
    e->value_len = (uint32_t)value.len;
    e->flags = flags & HPACK_F_NAME_UNKNOWN;
    d->count++;
    d->size += ENTRY_OVERHEAD + len;
    d->inserted++;
    return HPACK_OK;
}

/* Gives back what a smaller table no longer needs (after a size update or a lower limit). */
static void table_shrink(struct hpack_dec *d)
{
    uint32_t most = (uint32_t)(d->max_size / ENTRY_OVERHEAD);
    if (d->ring_cap > most && d->ring_cap > 8)
        (void)ring_resize(d, most > d->count ? most : d->count); /* on failure: keeps the old */
    if (d->buf_cap > 2 * d->max_size) {
        size_t live = 0;
        for (uint32_t k = 0; k < d->count; k++)
            live += (size_t)entry(d, k)->name_len + entry(d, k)->value_len;
        (void)buf_resize(d, live > 2 * d->max_size ? live : 2 * d->max_size, NULL, NULL, NULL);
    }
}

/* Forgets the table after an error: what follows decodes as after a late join. */
static void forget(struct hpack_dec *d)
{
    table_clear(d);
    d->from_start = 0;
    d->inserted = 0;
}

/* §6.3: the encoder's new maximum. */
static void set_max(struct hpack_dec *d, uint32_t v)
{
    d->max_size = v < HPACK_TABLE_CAP ? v : HPACK_TABLE_CAP;
    evict_to(d, d->max_size);
    table_shrink(d);
}

void hpack_dec_init(struct hpack_dec *d, int from_start)
{
    memset(d, 0, sizeof(*d));
    d->max_size = d->limit = HPACK_TABLE_DEFAULT;
    d->from_start = d->limit_known = from_start ? 1 : 0;
}

void hpack_dec_free(struct hpack_dec *d)
{
    free(d->ring);
    free(d->buf);
    free(d->scratch);
    free(d->memo);
    memset(d, 0, sizeof(*d));
}

void hpack_dec_set_limit(struct hpack_dec *d, uint32_t settings_size)
{
    d->limit = settings_size;
    d->limit_known = 1;
    /* the encoder must now send an update to at most the limit: what it evicts, evict now */
    if (d->max_size > d->limit)
        set_max(d, settings_size);
}

/* ---- representations ---- */

/* §5.1: the integer with an N-bit prefix at p[*pos]. Values over 2^32-1 are refused. */
static enum hpack_status get_int(const uint8_t *p, size_t n, size_t *pos, unsigned bits,
                                 uint32_t *out)
{
    if (*pos >= n)
        return HPACK_ERR_TRUNCATED;
    uint32_t max = (1u << bits) - 1;
    uint64_t v = p[(*pos)++] & max;
    if (v == max) {
        for (unsigned shift = 0;; shift = shift < 35 ? shift + 7 : shift) {
            if (*pos >= n)
                return HPACK_ERR_TRUNCATED;
            uint8_t b = p[(*pos)++];
            if (shift < 35)
                v += (uint64_t)(b & 127) << shift;
            else if (b & 127)
                return HPACK_ERR_INVALID;
            if (v > UINT32_MAX)
                return HPACK_ERR_INVALID;
            if (!(b & 128))
                break;
        }
    }
    *out = (uint32_t)v;
    return HPACK_OK;
}

/* §5.2: the string literal at p[*pos]: a span of the block, or Huffman-decoded into the scratch
 * at *used (*soff says where; NO_OFF when not in the scratch, whose address may still move). */
static enum hpack_status get_string(struct hpack_dec *d, const uint8_t *p, size_t n, size_t *pos,
                                    size_t *used, struct span *s, size_t *soff)
{
    int huffman = *pos < n && (p[*pos] & 0x80);
    uint32_t len;
    enum hpack_status r = get_int(p, n, pos, 7, &len);
    if (r)
        return r;
    if (len > HPACK_STRING_MAX)
        return HPACK_ERR_TOO_LONG;
    if (len > n - *pos)
        return HPACK_ERR_TRUNCATED;
    const uint8_t *src = p + *pos;
    *pos += len;
    *soff = NO_OFF;
    if (!huffman) {
        *s = span_make(len ? src : empty, len);
        return HPACK_OK;
    }
    if (scratch_reserve(d, *used + (size_t)len * 8 / 5 + 1) < 0)
        return HPACK_ERR_MEMORY;
    long m;
    int memo = len >= MEMO_MIN && len <= MEMO_MAX;
    if (memo && d->memo_in == len && memcmp(d->memo, src, len) == 0) {
        m = d->memo_out; /* decoded before: the same bytes give the same string */
        memcpy(d->scratch + *used, d->memo + len, (size_t)m);
    } else {
        m = hpack_huffman_decode(src, len, d->scratch + *used);
        if (m >= 0 && memo)
            memo_keep(d, src, len, d->scratch + *used, (size_t)m);
    }
    if (m < 0)
        return HPACK_ERR_HUFFMAN;
    if ((size_t)m > HPACK_STRING_MAX)
        return HPACK_ERR_TOO_LONG;
    *soff = *used;
    s->len = (size_t)m;
    *used += (size_t)m;
    return HPACK_OK;
}

enum lookup { L_FOUND, L_UNRESOLVED, L_BEYOND };

/* Table index idx >= 1: its name and value (flags: NAME_UNKNOWN when the name predates the
 * join); L_UNRESOLVED for an entry older than the known ones, L_BEYOND when, with from_start,
 * no insertion ever made it (the encoder's error). */
static enum lookup lookup(const struct hpack_dec *d, uint32_t idx, struct span *name,
                          struct span *value, unsigned *flags)
{
    *flags = 0;
    if (idx <= STATIC_COUNT) {
        *name = span_make(static_table[idx - 1].name, static_table[idx - 1].name_len);
        *value = span_make(static_table[idx - 1].value, static_table[idx - 1].value_len);
        return L_FOUND;
    }
    uint32_t k = idx - STATIC_COUNT - 1;
    if (k >= d->count)
        return d->from_start && k >= d->inserted ? L_BEYOND : L_UNRESOLVED;
    const struct hpack_entry *e = entry(d, k);
    *name = span_make(bytes_at(d, e->off), e->name_len);
    *value = span_make(bytes_at(d, e->off + e->name_len), e->value_len);
    *flags = e->flags;
    return L_FOUND;
}

struct block {
    struct hpack_dec *d;
    const uint8_t *p;
    size_t n, pos;
    hpack_emit_fn emit;
    void *ctx;
    struct hpack_counts *c;
    enum hpack_status status; /* the first error */
};

/* An error that leaves the boundaries known: noted, the table forgotten, the block goes on. */
static void fault(struct block *b, enum hpack_status s)
{
    if (!b->status)
        b->status = s;
    forget(b->d);
}

static void put(struct block *b, struct span name, struct span value, unsigned flags)
{
    struct hpack_field f = {name, value, flags};
    b->c->fields++;
    if (flags & HPACK_F_NAME_UNKNOWN)
        b->c->name_unknown++;
    b->emit(b->ctx, &f);
}

/* §6.1 */
static enum hpack_status indexed(struct block *b)
{
    uint32_t idx;
    enum hpack_status r = get_int(b->p, b->n, &b->pos, 7, &idx);
    if (r)
        return r;
    if (idx == 0) {
        fault(b, HPACK_ERR_INVALID);
        return HPACK_OK;
    }
    struct span name, value;
    unsigned flags;
    switch (lookup(b->d, idx, &name, &value, &flags)) {
    case L_FOUND:
        put(b, (flags & HPACK_F_NAME_UNKNOWN) ? span_make(empty, 0) : name, value,
            flags | HPACK_F_INDEXED);
        break;
    case L_BEYOND:
        fault(b, HPACK_ERR_INVALID);
        /* fall through */
    case L_UNRESOLVED:
        b->c->unresolved++;
        break;
    }
    return HPACK_OK;
}

/* §6.2: with incremental indexing (prefix 6), without (4), never indexed (4). */
static enum hpack_status literal(struct block *b)
{
    struct hpack_dec *d = b->d;
    uint8_t first = b->p[b->pos];
    int index = (first & 0x40) != 0;
    unsigned flags = (first & 0xf0) == 0x10 ? HPACK_F_NEVER_INDEXED : 0;
    uint32_t idx;
    enum hpack_status r = get_int(b->p, b->n, &b->pos, index ? 6 : 4, &idx);
    if (r)
        return r;
    struct span name = span_make(empty, 0), value;
    size_t used = 0, name_off = NO_OFF, value_off;
    if (idx == 0) {
        if ((r = get_string(d, b->p, b->n, &b->pos, &used, &name, &name_off)))
            return r;
    } else {
        struct span ignored;
        unsigned ef;
        switch (lookup(d, idx, &name, &ignored, &ef)) {
        case L_FOUND:
            flags |= ef;
            break;
        case L_BEYOND:
            fault(b, HPACK_ERR_INVALID);
            /* fall through */
        case L_UNRESOLVED:
            flags |= HPACK_F_NAME_UNKNOWN;
            break;
        }
        if (flags & HPACK_F_NAME_UNKNOWN)
            name = span_make(empty, 0);
    }
    if ((r = get_string(d, b->p, b->n, &b->pos, &used, &value, &value_off)))
        return r;
    if (name_off != NO_OFF)
        name.p = d->scratch + name_off;
    if (value_off != NO_OFF)
        value.p = d->scratch + value_off;
    put(b, name, value, flags);
    return index ? insert(d, name, value, flags) : HPACK_OK;
}

/* §6.3 */
static enum hpack_status size_update(struct block *b, int after_field)
{
    uint32_t v;
    enum hpack_status r = get_int(b->p, b->n, &b->pos, 5, &v);
    if (r)
        return r;
    if (after_field || (b->d->limit_known && v > b->d->limit))
        fault(b, HPACK_ERR_INVALID); /* and still follow it */
    set_max(b->d, v);
    return HPACK_OK;
}

enum hpack_status hpack_decode(struct hpack_dec *d, const uint8_t *p, size_t n,
                               hpack_emit_fn emit, void *ctx, struct hpack_counts *c)
{
    struct hpack_counts spare = {0};
    struct block b = {d, p, n, 0, emit, ctx, c ? c : &spare, HPACK_OK};
    int after_field = 0;
    while (b.pos < n) {
        uint8_t first = p[b.pos];
        enum hpack_status r;
        if (first & 0x80) {
            r = indexed(&b);
            after_field = 1;
        } else if ((first & 0xe0) == 0x20) {
            r = size_update(&b, after_field);
        } else {
            r = literal(&b);
            after_field = 1;
        }
        if (r) {
            fault(&b, r);
            break;
        }
    }
    if (b.status)
        b.c->errors++;
    if (d->scratch_cap > SCRATCH_KEEP) {
        d->scratch = xrealloc(d, d->scratch, d->scratch_cap, 0);
        d->scratch_cap = 0;
    }
    return b.status;
}

/* ---- self-checks (hpack_int.h) ---- */

size_t hpack_dec_recount(const struct hpack_dec *d)
{
    return cost((size_t)d->ring_cap * sizeof(struct hpack_entry)) + cost(d->buf_cap) +
           cost(d->scratch_cap) + cost(d->memo_cap);
}

void hpack_dec_entry(const struct hpack_dec *d, uint32_t k, const uint8_t **name, size_t *name_len,
                     const uint8_t **value, size_t *value_len, unsigned *flags)
{
    const struct hpack_entry *e = entry(d, k);
    *name = bytes_at(d, e->off);
    *name_len = e->name_len;
    *value = bytes_at(d, e->off + e->name_len);
    *value_len = e->value_len;
    *flags = e->flags;
}

int hpack_static_owns(const uint8_t *p)
{
    for (unsigned i = 0; i < STATIC_COUNT; i++)
        if (p == static_table[i].name || p == static_table[i].value)
            return 1;
    return p == empty;
}

int hpack_dec_check(const struct hpack_dec *d, const char **why)
{
#define FAIL(s)         \
    do {                \
        if (why)        \
            *why = (s); \
        return -1;      \
    } while (0)
    if (d->max_size > HPACK_TABLE_CAP)
        FAIL("max_size above the cap");
    if (d->count > d->ring_cap || (d->ring_cap && d->head >= d->ring_cap))
        FAIL("count or head outside the ring");
    if (d->mem != hpack_dec_recount(d))
        FAIL("mem is not what the buffers hold");
    size_t size = 0;
    int crossed = 0;
    for (uint32_t i = 0; i < d->count; i++) {
        const struct hpack_entry *e = entry(d, d->count - 1 - i); /* oldest first */
        size_t end = (size_t)e->off + e->name_len + e->value_len;
        size += entry_size(e);
        if (end > d->buf_cap || (end > e->off && !d->buf))
            FAIL("an entry outside the buffer");
        if (i == 0)
            continue;
        const struct hpack_entry *prev = entry(d, d->count - i);
        if (e->off < prev->off) {
            if (crossed++ || !d->wrap)
                FAIL("entries out of ring order");
        } else if (e->off < prev->off + prev->name_len + prev->value_len) {
            FAIL("entries overlap");
        }
        if (crossed && end > entry(d, d->count - 1)->off)
            FAIL("the newest entries overlap the oldest");
    }
    if (d->wrap && !crossed)
        FAIL("wrap set, but the entries do not wrap");
    if (d->count && d->wpos != entry(d, 0)->off + entry(d, 0)->name_len + entry(d, 0)->value_len)
        FAIL("wpos is not past the newest entry");
    if (size != d->size || d->size > d->max_size)
        FAIL("size is not the entries' sum, or above max_size");
    return 0;
#undef FAIL
}
