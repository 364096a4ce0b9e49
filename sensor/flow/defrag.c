/* defrag.c — IPv4 and IPv6 fragment reassembly: fragments in, whole IP datagrams out.
 *
 * Pipeline: decode ─► [defrag] ─► decode_ip ─► flow. Owns the copies of the fragments it holds
 * (one of the places packet bytes are copied, DESIGN "Contracts") and the one output buffer it
 * hands back. Implements RFC 791 §3.2 (reassembly, header of the offset-0 fragment), RFC 8200
 * §4.5 (unfragmentable part of the offset-0 fragment, Next Header from the Fragment header,
 * exact duplicates dropped) and RFC 5722 (IPv6 overlaps drop the whole datagram).
 *
 *   buckets[siphash(key) & mask] ─► dgram ─► dgram ─► NULL       (chained through hnext)
 *   age list: oldest ◄─► ... ◄─► newest                           (by first fragment)
 *
 *   one dgram:  hdr (offset-0 fragment's header)   pieces, sorted, never overlapping:
 *               [0,   8) [8, 1480) ...hole... [2960, 3012)    held = sum of piece lengths
 *
 * Key: (version, src, dst, id, VLAN ids) plus, for IPv4, the protocol (RFC 791 §3.2). IPv6
 * leaves the Next Header out of the key because RFC 8200 §4.5 lets it differ between fragments
 * and uses the offset-0 one. The VLAN ids keep overlapping address spaces apart, as the flow key
 * does. SipHash-1-3 keyed per table, so traffic cannot aim datagrams at one bucket.
 *
 * Overlap policy: the first copy of each byte wins (Suricata's "first"). A fragment is cut into
 * the pieces that fill holes; bytes already held are only compared. `overlaps` counts fragments
 * that overlapped held data (exact retransmissions included), `overlap_diff` those whose
 * overlapping bytes differed: one copy lies, and which one a host keeps depends on its stack.
 * IPv6 (RFC 5722): any overlap drops the whole datagram (`invalid`), except an exact duplicate
 * of a held fragment, which RFC 8200 §4.5 allows to drop alone.
 *
 * A datagram found invalid (over 65535 bytes, conflicting ends, too many fragments, IPv6
 * overlap, a broken header) keeps a data-less tombstone until its timeout, so the rest of its
 * fragments are dropped instead of starting a new datagram that could only time out.
 *
 * Timeout: counted from a datagram's first fragment, in packet time, never refreshed (as Linux's
 * ipfrag timer is not), so the age list is also the expiry order and defrag_expire() looks only
 * at its head: O(expired).
 *
 * Memcap: `used` = bucket array + per datagram sizeof(struct dgram) + header copy + per piece
 * sizeof(struct piece) + data, each block with the allocator's overhead (ALLOC_SLACK), never
 * above `memcap`. A fragment that does not fit first evicts
 * the oldest other datagrams (Suricata too recycles held trackers at its memcap): a flood of
 * incomplete datagrams then delays a real datagram only if more than the memcap arrives between
 * its first and last fragment, where refusing new fragments would starve every new datagram
 * until the flood timed out. Each evicted datagram adds the fragments it held to
 * `memcap_drops`; a fragment still not fitting adds one. The output buffer (at most one
 * datagram, < 128 KiB) is outside the memcap. A fragment cut short by the snaplen is `invalid`:
 * where its data ends is unknown.
 *
 * Counting, as Suricata does: fragments, reassembled datagrams and timeouts per IP version; an
 * atomic fragment (offset 0, no MF) is neither a fragment nor a reassembly there (Suricata
 * decodes it in place), so it is counted apart (`atomic`).
 */
#include "defrag.h"

#include <stdlib.h>
#include <string.h>

#include "lru.h"
#include "siphash.h"

#define DEFAULT_TIMEOUT_S 60
#define MAX_FRAGS 256      /* fragments (copies included) a datagram may take: 64 KiB cut at  */
                           /* the 576-byte IPv4 minimum reassembly size needs 119             */
#define IP_MAX 65535u      /* IPv4 total length / IPv6 payload length */
#define MIN_BUCKETS 64u
#define MAX_BUCKETS 65536u

/* What the allocator adds to each block we charge: glibc's 8-byte header and the rounding to 16,
 * at most 23 bytes (its 32-byte minimum block is reached by none of ours: a piece has a 16-byte
 * header and at least one byte). For the 8-byte fragments of a flood, charging only what we ask
 * for would let the pieces take half as much again as the memcap. */
#define ALLOC_SLACK 24
#define DG_COST (sizeof(struct dgram) + ALLOC_SLACK)
#define PIECE_COST (sizeof(struct piece) + ALLOC_SLACK)

struct piece {
    struct piece *next;
    uint32_t off, len;     /* payload bytes [off, off + len) of the datagram */
    uint8_t data[];
};

struct dg_key {
    uint8_t src[16], dst[16];
    uint32_t id;
    uint16_t vlan[DECODE_MAX_VLAN];
    uint8_t version, proto, vlan_count;
};

struct dgram {
    struct dgram *hnext;
    struct dgram *older, *newer;
    struct dg_key key;
    uint64_t hash;
    uint64_t due_us;       /* expires at this packet time */
    struct piece *pieces;
    uint8_t *hdr;          /* IPv4 header / IPv6 unfragmentable part of the offset-0 fragment */
    uint32_t hdr_len;
    uint32_t nh_pos;       /* IPv6: offset in hdr of the Next Header byte to patch */
    uint32_t total;        /* payload length, known once have_last */
    uint32_t max_end;      /* highest end offset of any accepted fragment */
    uint32_t held;         /* payload bytes held (pieces never overlap) */
    size_t mem;            /* bytes charged to the memcap */
    uint16_t nfrags;       /* fragments accepted */
    uint8_t proto;         /* upper protocol from the offset-0 fragment */
    uint8_t have_last, dead;
};

struct defrag {
    struct dgram **buckets;
    size_t mask;
    size_t memcap, used;
    uint64_t timeout_us;
    uint8_t seed[16];
    struct dgram *oldest, *newest;
    uint8_t *out;
    size_t out_cap;
    struct defrag_stats st;
};

/* The counters of one IP version (Suricata's stats.defrag.ipv4 / ipv6). */
static struct defrag_ip_stats *ip_stats(struct defrag *d, int v6)
{
    return v6 ? &d->st.ipv6 : &d->st.ipv4;
}

/* ---- table and age list --------------------------------------------------------------------- */

/* The caller frees the table with defrag_free(), which frees every datagram held. timeout_s 0
 * means 60 s. NULL when out of memory. */
struct defrag *defrag_new(size_t memcap, uint32_t timeout_s, const uint8_t seed[16])
{
    struct defrag *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    size_t nb = MIN_BUCKETS;
    while (nb < MAX_BUCKETS && nb * 2 * sizeof(*d->buckets) * 16 <= memcap)
        nb *= 2; /* the bucket array takes at most 1/16 of the memcap */
    d->buckets = calloc(nb, sizeof(*d->buckets));
    if (!d->buckets) {
        free(d);
        return NULL;
    }
    d->mask = nb - 1;
    d->memcap = memcap;
    d->used = nb * sizeof(*d->buckets);
    d->timeout_us = (uint64_t)(timeout_s ? timeout_s : DEFAULT_TIMEOUT_S) * 1000000u;
    memcpy(d->seed, seed, 16);
    return d;
}

static void release_data(struct defrag *d, struct dgram *dg)
{
    struct piece *p = dg->pieces;
    while (p) {
        struct piece *next = p->next;
        free(p);
        p = next;
    }
    dg->pieces = NULL;
    free(dg->hdr);
    dg->hdr = NULL;
    d->used -= dg->mem - DG_COST;
    dg->mem = DG_COST;
    dg->held = 0;
}

static void destroy(struct defrag *d, struct dgram *dg)
{
    struct dgram **link = &d->buckets[dg->hash & d->mask];
    while (*link != dg)
        link = &(*link)->hnext;
    *link = dg->hnext;
    LRU_UNLINK(d, dg);
    release_data(d, dg);
    d->used -= DG_COST;
    free(dg);
}

/* Declares a datagram invalid: its data goes, a tombstone stays until its timeout. */
static void invalidate(struct defrag *d, struct dgram *dg)
{
    release_data(d, dg);
    dg->dead = 1;
    d->st.invalid++;
}

void defrag_free(struct defrag *d)
{
    if (!d)
        return;
    while (d->oldest)
        destroy(d, d->oldest);
    free(d->buckets);
    free(d->out);
    free(d);
}

uint64_t defrag_next_due(const struct defrag *d)
{
    return d->oldest ? d->oldest->due_us : UINT64_MAX;
}

void defrag_expire(struct defrag *d, uint64_t now_us)
{
    while (d->oldest && now_us >= d->oldest->due_us) {
        if (!d->oldest->dead)
            ip_stats(d, d->oldest->key.version == 6)->timeouts++;
        destroy(d, d->oldest);
    }
}

/* Makes room for `bytes` more by evicting the oldest datagrams other than `keep`. 0 if it
 * cannot. */
static int reserve(struct defrag *d, const struct dgram *keep, size_t bytes)
{
    while (d->used + bytes > d->memcap) {
        struct dgram *victim = d->oldest;
        if (victim == keep)
            victim = victim->newer;
        if (!victim)
            return 0;
        if (!victim->dead)
            d->st.memcap_drops += victim->nfrags;
        destroy(d, victim);
    }
    return 1;
}

static void make_key(struct dg_key *k, const struct packet *pkt)
{
    memset(k, 0, sizeof(*k)); /* padding too: keys are hashed and compared whole */
    size_t alen = pkt->frag.ip_version == 4 ? 4 : 16;
    memcpy(k->src, pkt->src, alen);
    memcpy(k->dst, pkt->dst, alen);
    k->id = pkt->frag.id;
    k->version = pkt->frag.ip_version;
    k->proto = pkt->frag.ip_version == 4 ? pkt->frag.proto : 0;
    k->vlan_count = pkt->vlan_count > DECODE_MAX_VLAN ? DECODE_MAX_VLAN : pkt->vlan_count;
    for (unsigned i = 0; i < k->vlan_count; i++)
        k->vlan[i] = pkt->vlan[i];
}

static struct dgram *find(struct defrag *d, const struct dg_key *k, uint64_t hash)
{
    for (struct dgram *dg = d->buckets[hash & d->mask]; dg; dg = dg->hnext)
        if (dg->hash == hash && !memcmp(&dg->key, k, sizeof(*k)))
            return dg;
    return NULL;
}

static struct dgram *create(struct defrag *d, const struct dg_key *k, uint64_t hash,
                            uint64_t now_us)
{
    if (!reserve(d, NULL, DG_COST))
        return NULL;
    struct dgram *dg = calloc(1, sizeof(*dg));
    if (!dg)
        return NULL;
    memcpy(&dg->key, k, sizeof(*k));
    dg->hash = hash;
    dg->mem = DG_COST;
    d->used += DG_COST;
    /* Appended at the newest end: in expiry order as long as packet time does not step back
     * (the pipeline's does not); if it did, an entry would only wait behind an older one. */
    dg->due_us = now_us + d->timeout_us;
    LRU_PUSH_NEWEST(d, dg);
    struct dgram **b = &d->buckets[hash & d->mask];
    dg->hnext = *b;
    *b = dg;
    return dg;
}

/* ---- fragments ------------------------------------------------------------------------------ */

struct scan {
    uint32_t gaps, gap_bytes; /* holes the fragment fills: pieces to make, bytes to copy */
    int overlap, differ, exact;
};

/* Compares the fragment [off, end) with what is held. */
static void scan(const struct dgram *dg, uint32_t off, uint32_t end, const uint8_t *data,
                 struct scan *s)
{
    memset(s, 0, sizeof(*s));
    uint32_t cur = off;
    for (const struct piece *p = dg->pieces; p && cur < end; p = p->next) {
        uint32_t pend = p->off + p->len;
        if (pend <= cur)
            continue;
        if (p->off >= end)
            break;
        if (p->off > cur) {
            s->gaps++;
            s->gap_bytes += p->off - cur;
            cur = p->off;
        }
        uint32_t stop = pend < end ? pend : end;
        s->overlap = 1;
        if (memcmp(p->data + (cur - p->off), data + (cur - off), stop - cur))
            s->differ = 1;
        else if (p->off == off && pend == end)
            s->exact = 1;
        cur = stop;
    }
    if (cur < end) {
        s->gaps++;
        s->gap_bytes += end - cur;
    }
}

/* Copies the parts of [off, end) that fill holes; room was reserved. -1 on no memory (what was
 * inserted stays: pieces still never overlap). */
static int insert(struct defrag *d, struct dgram *dg, uint32_t off, uint32_t end,
                  const uint8_t *data)
{
    struct piece **link = &dg->pieces;
    uint32_t cur = off;
    while (cur < end) {
        struct piece *p = *link;
        if (p && p->off + p->len <= cur) {
            link = &p->next;
            continue;
        }
        if (p && p->off <= cur) { /* held: first copy wins */
            cur = p->off + p->len < end ? p->off + p->len : end;
            link = &p->next;
            continue;
        }
        uint32_t stop = p && p->off < end ? p->off : end;
        struct piece *n = malloc(sizeof(*n) + (stop - cur));
        if (!n)
            return -1;
        n->off = cur;
        n->len = stop - cur;
        memcpy(n->data, data + (cur - off), n->len);
        n->next = p;
        *link = n;
        link = &n->next;
        dg->held += n->len;
        dg->mem += PIECE_COST + n->len;
        d->used += PIECE_COST + n->len;
        cur = stop;
    }
    return 0;
}

/* Finds the Next Header byte that names the Fragment header: the last one in the
 * unfragmentable part (RFC 8200 §4.5). -1 if the part is not a chain of Hop-by-Hop, Routing,
 * Destination Options or AH headers that ends exactly at len. */
static int ipv6_last_nh(const uint8_t *h, uint32_t len, uint32_t *nh_pos)
{
    uint32_t nh = 6, pos = 40;
    while (pos < len) {
        if (len - pos < 2)
            return -1;
        uint32_t hl;
        switch (h[nh]) {
        case 0: case 43: case 60:
            hl = ((uint32_t)h[pos + 1] + 1) * 8;
            break;
        case 51:
            hl = ((uint32_t)h[pos + 1] + 2) * 4;
            break;
        default:
            return -1;
        }
        nh = pos;
        pos += hl;
    }
    if (pos != len)
        return -1;
    *nh_pos = nh;
    return 0;
}

static uint16_t ipv4_checksum(const uint8_t *h, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)h[i] << 8 | h[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Sizes d->out for an n-byte datagram and writes its header: hdr with the length fields, MF
 * and offset (IPv4, then the checksum) or the Next Header before the removed Fragment header
 * (IPv6) fixed. NULL on no memory. */
static uint8_t *emit_header(struct defrag *d, int v6, const uint8_t *hdr, uint32_t hdr_len,
                            uint32_t nh_pos, uint8_t proto, size_t n)
{
    if (n > d->out_cap) {
        uint8_t *b = realloc(d->out, n);
        if (!b)
            return NULL;
        d->out = b;
        d->out_cap = n;
    }
    uint8_t *o = d->out;
    memcpy(o, hdr, hdr_len);
    if (v6) {
        size_t plen = n - 40;
        o[4] = (uint8_t)(plen >> 8);
        o[5] = (uint8_t)plen;
        o[nh_pos] = proto;
    } else {
        o[2] = (uint8_t)(n >> 8);
        o[3] = (uint8_t)n;
        o[6] &= 0xc0; /* keep the reserved bit and DF; clear MF and the offset */
        o[7] = 0;
        o[10] = o[11] = 0;
        uint16_t c = ipv4_checksum(o, hdr_len);
        o[10] = (uint8_t)(c >> 8);
        o[11] = (uint8_t)c;
    }
    return o;
}

/* Writes the whole datagram into d->out and frees dg. 1 on success. */
static int build(struct defrag *d, struct dgram *dg, const uint8_t **out, size_t *out_len)
{
    int v6 = dg->key.version == 6;
    size_t n = (size_t)dg->hdr_len + dg->total;
    if (n - (v6 ? 40 : 0) > IP_MAX) { /* other fragments had shorter headers than offset 0's */
        invalidate(d, dg);
        return 0;
    }
    uint8_t *o = emit_header(d, v6, dg->hdr, dg->hdr_len, dg->nh_pos, dg->proto, n);
    if (!o) {
        d->st.memcap_drops += dg->nfrags;
        destroy(d, dg);
        return 0;
    }
    for (const struct piece *p = dg->pieces; p; p = p->next)
        memcpy(o + dg->hdr_len + p->off, p->data, p->len);
    ip_stats(d, v6)->reassembled++;
    destroy(d, dg);
    *out = o;
    *out_len = n;
    return 1;
}

/* An atomic fragment (offset 0, no MF: RFC 6946 §4) is a whole datagram by itself and is never
 * mixed with a datagram being reassembled under the same id. */
static int atomic(struct defrag *d, const struct packet_frag *fr, const uint8_t **out,
                  size_t *out_len)
{
    int v6 = fr->ip_version == 6;
    uint32_t nh_pos = 0;
    size_t n = (size_t)fr->hdr_len + fr->data_len;
    if ((v6 && ipv6_last_nh(fr->hdr, fr->hdr_len, &nh_pos) < 0) || n - (v6 ? 40 : 0) > IP_MAX) {
        d->st.invalid++;
        return 0;
    }
    uint8_t *o = emit_header(d, v6, fr->hdr, fr->hdr_len, nh_pos, fr->proto, n);
    if (!o) {
        d->st.memcap_drops++;
        return 0;
    }
    if (fr->data_len)
        memcpy(o + fr->hdr_len, fr->data, fr->data_len);
    *out = o;
    *out_len = n;
    return 1;
}

/* Whether the fragment's header is one we can rebuild a datagram from. */
static int header_ok(const struct packet_frag *fr)
{
    if (!fr->hdr || (fr->data_len && !fr->data))
        return 0;
    if (fr->ip_version == 4)
        return fr->hdr_len >= 20 && fr->hdr_len <= 60 && fr->hdr[0] >> 4 == 4 &&
               (uint32_t)(fr->hdr[0] & 0x0f) * 4 == fr->hdr_len;
    if (fr->ip_version == 6)
        return fr->hdr_len >= 40 && fr->hdr_len - 40 <= IP_MAX && fr->hdr[0] >> 4 == 6;
    return 0;
}

int defrag_add(struct defrag *d, const struct packet *pkt, uint64_t now_us, const uint8_t **out,
               size_t *out_len)
{
    const struct packet_frag *fr = &pkt->frag;
    *out = NULL;
    *out_len = 0;
    int v6 = fr->ip_version == 6;
    if (fr->offset == 0 && !fr->more)
        d->st.atomic++;
    else
        ip_stats(d, v6)->fragments++;
    defrag_expire(d, now_us);
    /* A fragment cut short by the snaplen cannot be put back: where its data ends is unknown. */
    if (!header_ok(fr) || pkt->truncated) {
        d->st.invalid++;
        return 0;
    }
    if (fr->offset == 0 && !fr->more)
        return atomic(d, fr, out, out_len);

    struct dg_key k;
    make_key(&k, pkt);
    uint64_t hash = siphash13(d->seed, &k, sizeof(k));
    struct dgram *dg = find(d, &k, hash);
    if (dg && dg->dead)
        return 0; /* the rest of a datagram already counted invalid */

    /* RFC 791 §3.2 / RFC 8200 §4.5: all but the last fragment carry a multiple of 8 bytes. */
    if (fr->more && (fr->data_len == 0 || fr->data_len % 8)) {
        d->st.invalid++;
        return 0;
    }
    uint64_t end = (uint64_t)fr->offset + fr->data_len;
    uint32_t unfrag = v6 ? fr->hdr_len - 40 : fr->hdr_len;
    if (end + unfrag > IP_MAX) { /* "ping of death": the datagram could never be valid */
        if (dg)
            invalidate(d, dg);
        else
            d->st.invalid++;
        return 0;
    }

    if (!dg) {
        dg = create(d, &k, hash, now_us);
        if (!dg) {
            d->st.memcap_drops++;
            return 0;
        }
    }
    if (dg->nfrags >= MAX_FRAGS) {
        invalidate(d, dg);
        return 0;
    }
    dg->nfrags++;
    /* Where the datagram ends must not move once known (RFC 791 §3.2 takes the end from the
     * fragment without MF; two such fragments, or data past it, are contradictions). */
    if (!fr->more ? (dg->have_last && end != dg->total) || end < dg->max_end
                  : dg->have_last && end > dg->total) {
        invalidate(d, dg);
        return 0;
    }

    struct scan s;
    scan(dg, fr->offset, (uint32_t)end, fr->data, &s);
    if (s.overlap) {
        d->st.overlaps++;
        if (s.differ)
            d->st.overlap_diff++;
        if (v6) {
            if (!s.exact)
                invalidate(d, dg); /* RFC 5722 §4 */
            return 0;
        }
    }

    int need_hdr = fr->offset == 0 && !dg->hdr;
    uint32_t nh_pos = 0;
    if (need_hdr && v6 && ipv6_last_nh(fr->hdr, fr->hdr_len, &nh_pos) < 0) {
        invalidate(d, dg);
        return 0;
    }
    size_t bytes = (size_t)s.gaps * PIECE_COST + s.gap_bytes +
                   (need_hdr ? fr->hdr_len + ALLOC_SLACK : 0);
    uint8_t *hdr = NULL;
    if (!reserve(d, dg, bytes) || (need_hdr && !(hdr = malloc(fr->hdr_len)))) {
        d->st.memcap_drops++;
        if (--dg->nfrags == 0)
            destroy(d, dg);
        return 0;
    }
    if (need_hdr) {
        memcpy(hdr, fr->hdr, fr->hdr_len);
        dg->hdr = hdr;
        dg->hdr_len = fr->hdr_len;
        dg->nh_pos = nh_pos;
        dg->proto = fr->proto;
        dg->mem += fr->hdr_len + ALLOC_SLACK;
        d->used += fr->hdr_len + ALLOC_SLACK;
    }
    if (!fr->more) {
        dg->have_last = 1;
        dg->total = (uint32_t)end;
    }
    if (end > dg->max_end)
        dg->max_end = (uint32_t)end;
    if (insert(d, dg, fr->offset, (uint32_t)end, fr->data) < 0) {
        d->st.memcap_drops++;
        return 0;
    }
    if (dg->have_last && dg->hdr && dg->held == dg->total)
        return build(d, dg, out, out_len);
    return 0;
}

const struct defrag_stats *defrag_stats(const struct defrag *d)
{
    return &d->st;
}

size_t defrag_memuse(const struct defrag *d)
{
    return d->used;
}
