/* fuzz_hpack.c — libFuzzer target for dissectors/http/hpack.c (HPACK, RFC 7541).
 *
 * Input: two control bytes, then header blocks.
 *   byte 0: bit 0 from_start; bits 1-3 the SETTINGS limit (limits[], 0: none given); bits 4-5
 *           how the rest is cut into blocks: 0 one block, 1 each block behind a 1-byte length,
 *           2 behind a 2-byte length (big-endian), 3 at pseudo-random points (byte 1 the seed);
 *           bit 6 a late-join differential: a second decoder (from_start 0) joins at the block
 *           byte 1 % 8 names; bit 7 the limit is given again (lowered to half) mid-way.
 *   byte 1: the seed or the join block.
 * Each block is copied to an exact-size heap buffer (ASan sees any read past it) and decoded.
 * abort() on a broken invariant: a span outside the block, the decoder's buffers and the static
 * table; hpack_dec_check (size, max_size <= HPACK_TABLE_CAP, entries inside the buffer without
 * overlap, mem equal to what the buffers hold); counts that disagree with the calls. The late
 * decoder, while the first has had no error: every field it emits is the first's at the same
 * position (value, and name unless NAME_UNKNOWN), and fields + unresolved are the first's
 * fields. Every Huffman string of a block is also decoded alone into exactly n * 8 / 5 + 1 bytes
 * and compared with a bit-at-a-time reference decoder over the canonical code.
 * Leaks show under LeakSanitizer after hpack_dec_free. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../dissectors/http/hpack_int.h"
#include "hpack.h"

static const uint32_t limits[8] = {0, 0, 64, 256, 4096, 65536, 1u << 20, 100};

#define MAXF 4096

struct rec {
    const struct hpack_dec *d;
    const uint8_t *blk;
    size_t n;
    struct hpack_counts c;
    size_t calls;
    int keep; /* copy the fields (for the differential) */
    size_t nf;
    struct {
        uint8_t *name, *value;
        size_t nl, vl, pos;
        unsigned flags;
    } f[MAXF];
};

static int inside(const struct rec *r, struct span s)
{
    const struct hpack_dec *d = r->d;
    if (!s.p)
        return 0;
    if (s.p >= r->blk && s.p + s.len <= r->blk + r->n)
        return 1;
    if (d->scratch && s.p >= d->scratch && s.p + s.len <= d->scratch + d->scratch_cap)
        return 1;
    if (d->buf && s.p >= d->buf && s.p + s.len <= d->buf + d->buf_cap)
        return 1;
    return hpack_static_owns(s.p);
}

static void emit(void *ctx, const struct hpack_field *f)
{
    struct rec *r = ctx;
    if (!inside(r, f->name) || !inside(r, f->value))
        abort();
    if ((f->flags & HPACK_F_NAME_UNKNOWN) && f->name.len)
        abort();
    r->calls++;
    if (r->calls != r->c.fields)
        abort();
    if (!r->keep || r->nf == MAXF)
        return;
    size_t i = r->nf++;
    r->f[i].name = malloc(f->name.len + 1);
    r->f[i].value = malloc(f->value.len + 1);
    if (!r->f[i].name || !r->f[i].value)
        abort();
    memcpy(r->f[i].name, f->name.p, f->name.len);
    memcpy(r->f[i].value, f->value.p, f->value.len);
    r->f[i].nl = f->name.len;
    r->f[i].vl = f->value.len;
    r->f[i].flags = f->flags;
    r->f[i].pos = (size_t)(r->c.fields - 1 + r->c.unresolved);
}

static void rec_clear(struct rec *r)
{
    for (size_t i = 0; i < r->nf; i++) {
        free(r->f[i].name);
        free(r->f[i].value);
    }
    r->nf = 0;
    r->calls = 0;
    memset(&r->c, 0, sizeof(r->c));
}

static enum hpack_status run(struct hpack_dec *d, struct rec *r, const uint8_t *blk, size_t n)
{
    rec_clear(r);
    r->d = d;
    r->blk = blk;
    r->n = n;
    enum hpack_status s = hpack_decode(d, blk, n, emit, r, &r->c);
    if (r->calls != r->c.fields || r->c.errors != (s != HPACK_OK))
        abort();
    if (hpack_dec_check(d, NULL) || hpack_dec_mem(d) != hpack_dec_recount(d))
        abort();
    if (d->max_size > HPACK_TABLE_CAP || d->size > d->max_size)
        abort();
    return s;
}

/* A reference Huffman decoder: one bit at a time through the canonical code (every length from
 * 5 to 30 bits), nothing shared with hpack_huffman_decode's 12-bit lookup and word refills. */
static long huffman_ref(const uint8_t *src, size_t n, uint8_t *dst)
{
    size_t bit = 0, total = n * 8;
    long m = 0;
    while (bit < total) {
        uint32_t code = 0;
        unsigned l;
        int found = 0;
        for (l = 1; l <= 30 && bit + l <= total; l++) {
            code = code << 1 | ((src[(bit + l - 1) / 8] >> (7 - (bit + l - 1) % 8)) & 1);
            if (code < hpack_huf_limit[l]) {
                found = 1;
                break;
            }
        }
        if (!found) { /* the rest: under 8 bits, all ones */
            if (total - bit > 7)
                return -1;
            for (; bit < total; bit++)
                if (!((src[bit / 8] >> (7 - bit % 8)) & 1))
                    return -1;
            break;
        }
        uint16_t sym = hpack_huf_sym[(int32_t)code + hpack_huf_off[l]];
        if (sym == 256)
            return -1;
        dst[m++] = (uint8_t)sym;
        bit += l;
    }
    return m;
}

/* Every string literal with the H bit that the block holds at a representation start is hard to
 * find without decoding; instead every byte with the H bit set is tried as a 7-bit-prefix length
 * of a Huffman string: bounded work, the exact-size output buffer is what is checked. */
static void huffman_alone(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n && i < 64; i++) {
        if (!(p[i] & 0x80) || (p[i] & 0x7f) == 0x7f)
            continue;
        size_t len = p[i] & 0x7f;
        if (len > n - i - 1)
            continue;
        uint8_t *src = malloc(len ? len : 1), *dst = malloc(len * 8 / 5 + 1);
        if (!src || !dst)
            abort();
        memcpy(src, p + i + 1, len);
        long m = hpack_huffman_decode(src, len, dst);
        if (m > (long)(len * 8 / 5))
            abort();
        uint8_t ref[128 * 8 / 5 + 1];
        long r = huffman_ref(src, len, ref);
        if (r != m || (m > 0 && memcmp(ref, dst, (size_t)m)))
            abort();
        free(src);
        free(dst);
    }
}

static struct rec ra, rb;

/* The late decoder b never invents: a field it emits is the one the first decoder emitted at the
 * same position. Not compared: what a counts as unresolved, or whose name a does not know. b may
 * resolve those only where the input references an entry the encoder does not hold (b keeps
 * entries longer, e.g. it missed an update to a smaller table before it joined, or a name a took
 * from such an entry): no encoder does that, so there is no original to compare with. Both hold
 * the same insertion at every position both hold, so values and known names must agree. */
static void compare(enum hpack_status sb)
{
    if (sb != HPACK_OK || rb.c.fields + rb.c.unresolved != ra.c.fields + ra.c.unresolved)
        abort();
    size_t j = 0;
    for (size_t i = 0; i < rb.nf; i++) {
        size_t at = rb.f[i].pos;
        while (j < ra.nf && ra.f[j].pos < at)
            j++;
        if (j == ra.nf)
            break;
        if (ra.f[j].pos != at)
            continue;
        if (rb.f[i].vl != ra.f[j].vl || memcmp(rb.f[i].value, ra.f[j].value, rb.f[i].vl))
            abort();
        if ((rb.f[i].flags | HPACK_F_NAME_UNKNOWN) != (ra.f[j].flags | HPACK_F_NAME_UNKNOWN))
            abort();
        if ((rb.f[i].flags | ra.f[j].flags) & HPACK_F_NAME_UNKNOWN)
            continue;
        if (rb.f[i].nl != ra.f[j].nl || memcmp(rb.f[i].name, ra.f[j].name, rb.f[i].nl))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t ctl = data[0], arg = data[1];
    int from_start = ctl & 1, cut = (ctl >> 4) & 3, diff = (ctl >> 6) & 1, relimit = ctl >> 7;
    uint32_t limit = limits[(ctl >> 1) & 7];
    const uint8_t *p = data + 2;
    size_t left = size - 2;
    struct hpack_dec a, b;
    hpack_dec_init(&a, from_start);
    hpack_dec_init(&b, 0);
    if ((ctl >> 1) & 7) {
        hpack_dec_set_limit(&a, limit);
        hpack_dec_set_limit(&b, limit);
    }
    ra.keep = rb.keep = diff;
    uint32_t seed = arg * 2654435761u + 1;
    int join = arg % 8, a_ok = 1;
    for (int k = 0; left > 0 && k < 64; k++) {
        size_t n = left;
        if (cut == 1 || cut == 2) {
            size_t h = (size_t)cut;
            if (left < h)
                break;
            n = cut == 1 ? p[0] : (size_t)p[0] << 8 | p[1];
            p += h;
            left -= h;
            if (n > left)
                n = left;
        } else if (cut == 3) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 16) % 64;
            if (n > left)
                n = left;
        }
        uint8_t *blk = malloc(n ? n : 1);
        if (!blk)
            abort();
        memcpy(blk, p, n);
        p += n;
        left -= n;
        if (relimit && k == 2) {
            hpack_dec_set_limit(&a, limit / 2);
            hpack_dec_set_limit(&b, limit / 2);
        }
        enum hpack_status sa = run(&a, &ra, blk, n);
        if (sa != HPACK_OK)
            a_ok = 0;
        if (diff && k >= join) {
            enum hpack_status sb = run(&b, &rb, blk, n);
            if (a_ok)
                compare(sb);
        }
        huffman_alone(blk, n);
        free(blk);
    }
    rec_clear(&ra);
    rec_clear(&rb);
    hpack_dec_free(&a);
    hpack_dec_free(&b);
    if (hpack_dec_mem(&a) || hpack_dec_mem(&b))
        abort();
    return 0;
}
