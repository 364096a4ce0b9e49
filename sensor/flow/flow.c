/* flow.c — the flow table: one struct flow per connection, both directions mapped to it.
 *
 * Pipeline: decode ─► [flow] ─► stream. Owns every struct flow; what hangs off f->app is the
 * caller's and is released through the on_free callback just before the flow is freed (DESIGN
 * "Ownership" 2). Keyed by a secret multiply-shift hash over the canonical key (mshash,
 * siphash.h), so traffic cannot aim flows at one bucket (DESIGN "Ownership" 6); bounded by a
 * byte memcap (DESIGN "Ownership" 5).
 *
 * Layout:
 *
 *   buckets[hash & mask] ─► flow ─► flow ─► NULL        (chained through hnext)
 *
 *   open list:   oldest ◄─► ... ◄─► newest              (older/newer; a packet moves its
 *   closed list: oldest ◄─► ... ◄─► newest               flow to the newest end)
 *
 * Each list has a single timeout, so the oldest entry of a list is always the first to come due
 * and flow_expire() only ever looks at list heads: its cost is O(expired), not O(flows). Closed
 * flows get their own list because their short timeout would otherwise let them sit, overdue,
 * behind open flows that are not.
 *
 * Port reuse (RFC 9293 §3.5's new incarnation of a connection; Suricata's "TCP session reuse"):
 * a client's SYN that cannot belong to the connection the flow holds ends that flow and starts a
 * new one, so a new connection's sequence numbers are not judged against an old one's. A SYN
 * repeated with the same initial sequence number is a retransmission, and a SYN from the side
 * that is not the client of an open flow is ignored here (simultaneous open, or noise).
 *
 * Also implements Community ID v1 (github.com/corelight/community-id-spec), whose endpoint
 * ordering is the same as our canonical key's.
 */
#include "flow.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lru.h"
#include "siphash.h"

#define MIN_BUCKETS 1024u
#define ID_MASK ((UINT64_C(1) << 51) - 1)

struct idle_list {
    struct flow *oldest, *newest;
};

struct flow_table {
    struct flow **buckets;
    size_t mask;                /* bucket count - 1; the count is a power of two */
    size_t memcap, used;
    size_t flow_cost;           /* charged per flow: struct flow plus the owner's state */
    uint64_t timeout_us, closed_timeout_us;
    uint8_t seed[16];
    struct mshash mh;           /* the bucket hash's key (multiply-shift, see siphash.h) */
    uint64_t id_mult;           /* odd: makes the id permutation key-dependent */
    uint64_t id_counter;
    flow_free_fn on_free;
    void *user;
    struct idle_list open, closed;
    struct flow_stats stats;
};

/* ---- idle lists ---------------------------------------------------------------------------- */

static struct idle_list *list_of(struct flow_table *ft, const struct flow *f)
{
    return f->closed ? &ft->closed : &ft->open;
}

static void list_unlink(struct idle_list *l, struct flow *f)
{
    LRU_UNLINK(l, f);
}

static void list_append(struct idle_list *l, struct flow *f)
{
    LRU_PUSH_NEWEST(l, f);
}

/* ---- hashing and keys ---------------------------------------------------------------------- */

/* Orders endpoints as Community ID does: address bytes first, then port. IPv4 addresses sit in
 * the first 4 bytes with the rest zero, so comparing all 16 bytes gives the same order. */
static int endpoint_cmp(const uint8_t *a1, uint16_t p1, const uint8_t *a2, uint16_t p2)
{
    int c = memcmp(a1, a2, 16);
    if (c)
        return c;
    return (p1 > p2) - (p1 < p2);
}

/* Fills a zeroed key in canonical order; returns the sender's side. The key is memset first so
 * padding bytes are zero: the whole struct is then hashed and compared with memcmp. */
static int make_key(struct flow_key *k, const struct packet *pkt)
{
    memset(k, 0, sizeof(*k));
    size_t alen = pkt->ip_version == 4 ? 4 : 16;
    uint8_t src[16] = {0}, dst[16] = {0};
    memcpy(src, pkt->src, alen);
    memcpy(dst, pkt->dst, alen);

    int side = endpoint_cmp(src, pkt->sport, dst, pkt->dport) > 0;
    memcpy(k->addr[side], src, 16);
    memcpy(k->addr[!side], dst, 16);
    k->port[side] = pkt->sport;
    k->port[!side] = pkt->dport;

    k->vlan_count = pkt->vlan_count > DECODE_MAX_VLAN ? DECODE_MAX_VLAN : pkt->vlan_count;
    for (unsigned i = 0; i < k->vlan_count; i++)
        k->vlan[i] = pkt->vlan[i];
    k->ip_version = pkt->ip_version;
    k->proto = pkt->ip_proto;
    return side;
}

/* A bijection on [0, 2^51): multiplication by an odd number and xor-shifts are each invertible
 * modulo 2^51, so distinct counters give distinct ids, and only 0 maps to 0. Ids look random, as
 * Suricata's do, without leaking how many flows were seen. */
static uint64_t mix_id(uint64_t x, uint64_t mult)
{
    x &= ID_MASK;
    x = (x * mult) & ID_MASK;
    x ^= x >> 25;
    x = (x * 0x9e3779b97f4a7c15ULL) & ID_MASK;
    x ^= x >> 23;
    return x;
}

/* ---- table lifecycle ----------------------------------------------------------------------- */

/* Returns a table the caller frees with flow_table_free(); NULL when out of memory. A memcap
 * smaller than the bucket array is accepted: the table then refuses every flow (and counts it). */
struct flow_table *flow_table_new(size_t memcap, uint32_t timeout_s, uint32_t closed_timeout_s,
                                  const uint8_t seed[16], flow_free_fn on_free, void *user)
{
    struct flow_table *ft = calloc(1, sizeof(*ft));
    if (!ft)
        return NULL;

    /* About four flows' worth of memcap per bucket keeps the buckets near 1% of the memcap
     * while chains stay short at the flow count the memcap allows. */
    size_t target = memcap / (sizeof(struct flow) * 4);
    size_t n = MIN_BUCKETS;
    while (n <= target / 2 && n < ((size_t)1 << 30))
        n *= 2;
    ft->buckets = calloc(n, sizeof(*ft->buckets));
    if (!ft->buckets) {
        free(ft);
        return NULL;
    }
    ft->mask = n - 1;
    ft->memcap = memcap;
    ft->flow_cost = sizeof(struct flow);
    ft->used = n * sizeof(*ft->buckets);
    ft->timeout_us = (uint64_t)timeout_s * 1000000u;
    ft->closed_timeout_us = (uint64_t)closed_timeout_s * 1000000u;
    memcpy(ft->seed, seed, 16);
    mshash_init(&ft->mh, ft->seed);
    static const char tag[] = "flow-id";
    ft->id_mult = siphash24(ft->seed, tag, sizeof(tag) - 1) | 1u;
    ft->on_free = on_free;
    ft->user = user;
    return ft;
}

int flow_table_set_state_size(struct flow_table *ft, size_t bytes)
{
    if (ft->stats.active)
        return -1;
    ft->flow_cost = sizeof(struct flow) + bytes;
    return 0;
}

static void bucket_remove(struct flow_table *ft, struct flow *f)
{
    struct flow **pp = &ft->buckets[f->hash & ft->mask];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    f->hnext = NULL;
}

/* Unlinks f from everything, tells the owner, frees it. The callback sees a flow that is no
 * longer reachable from the table, so it cannot trip over it through another table call. */
static void destroy(struct flow_table *ft, struct flow *f, const char *reason)
{
    list_unlink(list_of(ft, f), f);
    bucket_remove(ft, f);
    ft->used -= ft->flow_cost + f->charged;
    ft->stats.active--;
    if (ft->on_free)
        ft->on_free(ft->user, f, reason);
    free(f);
}

void flow_table_free(struct flow_table *ft)
{
    if (!ft)
        return;
    while (ft->open.oldest)
        destroy(ft, ft->open.oldest, "shutdown");
    while (ft->closed.oldest)
        destroy(ft, ft->closed.oldest, "shutdown");
    free(ft->buckets);
    free(ft);
}

/* ---- lookup -------------------------------------------------------------------------------- */

/* Makes room for one more flow: evicts one flow at most (closed ones first, since they have
 * nothing left to deliver, else the least recently seen). 1 when there is room. */
static int make_room(struct flow_table *ft)
{
    if (ft->used + ft->flow_cost <= ft->memcap)
        return 1;
    struct flow *victim = ft->closed.oldest ? ft->closed.oldest : ft->open.oldest;
    ft->stats.memcap++;
    if (!victim)
        return 0;
    destroy(ft, victim, "memcap");
    if (ft->used + ft->flow_cost <= ft->memcap)
        return 1;
    ft->stats.memcap++;
    return 0;
}

/* At most this many flows are evicted for one flow_charge(): a flow that grows must not be able
 * to empty the table in one packet. */
#define CHARGE_MAX_EVICT 4

int flow_charge(struct flow_table *ft, struct flow *f, long delta)
{
    if (delta <= 0) {
        size_t back = (size_t)-delta < f->charged ? (size_t)-delta : f->charged;
        f->charged -= (uint32_t)back;
        ft->used -= back;
        return 0;
    }
    size_t need = (size_t)delta;
    if (need > UINT32_MAX - f->charged) {
        ft->stats.memcap++;
        return -1;
    }
    for (int i = 0; ft->used + need > ft->memcap; i++) {
        struct flow *victim = ft->closed.oldest ? ft->closed.oldest : ft->open.oldest;
        if (victim == f) /* f is never its own victim: try the next oldest */
            victim = f->newer ? f->newer : (f->closed ? ft->open.oldest : NULL);
        ft->stats.memcap++;
        if (!victim || victim == f || i == CHARGE_MAX_EVICT)
            return -1;
        destroy(ft, victim, "memcap");
    }
    f->charged += (uint32_t)need;
    ft->used += need;
    return 0;
}

static void update_client(struct flow *f, const struct packet *pkt, int side)
{
    if (f->client_known)
        return;
    uint8_t fl = pkt->tcp_flags;
    if ((fl & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
        f->client = (uint8_t)side;
        f->client_known = 1;
    } else if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) {
        f->client = (uint8_t)!side;
        f->client_known = 1;
    }
}

/* Remembers what port reuse is judged by: the client's first SYN (a SYN from the other side of
 * a flow whose client is known says nothing about this connection) and which sides sent a FIN.
 * Runs after update_client(), so a SYN on a flow of unknown client has just made its sender it. */
static void track_tcp(struct flow *f, const struct packet *pkt, int side)
{
    uint8_t fl = pkt->tcp_flags;
    if ((fl & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN && !f->syn_seen && f->client_known &&
        f->client == side) {
        f->syn_seen = 1;
        f->syn_side = (uint8_t)side;
        f->syn_isn = pkt->seq;
    }
    if (fl & TCP_FIN)
        f->fin_seen |= (uint8_t)(1u << side);
}

/* Whether pkt, sent by `side`, opens a new connection on f's 5-tuple (see the file comment). A
 * finished connection (closed, or a FIN seen) cannot take a SYN; an open one takes a different
 * SYN from its client only as a new connection (the SPAN port may have missed the old one's
 * FIN or RST). */
static int is_reuse(const struct flow *f, const struct packet *pkt, int side)
{
    if ((pkt->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN)
        return 0;
    if (f->closed || f->fin_seen)
        return 1;
    if (f->syn_seen)
        return f->syn_side == side && f->syn_isn != pkt->seq;
    return f->client_known && f->client == side;
}

static inline struct flow *find(const struct flow_table *ft, const struct flow_key *k, uint64_t h)
{
    struct flow *f = ft->buckets[h & ft->mask];
    while (f && (f->hash != h || memcmp(&f->key, k, sizeof(*k)) != 0))
        f = f->hnext;
    return f;
}

struct flow *flow_find(struct flow_table *ft, const struct flow_key *k)
{
    return ft ? find(ft, k, mshash(&ft->mh, k, sizeof(*k))) : NULL;
}

/* Returns the table's flow for pkt (owned by the table: valid until on_free is called for it);
 * NULL when the memcap leaves no room even after one eviction, or when calloc fails (both
 * counted in stats.memcap). May call on_free for an evicted flow before returning. */
struct flow *flow_lookup(struct flow_table *ft, const struct packet *pkt, uint64_t now_us,
                         int *side)
{
    struct flow_key k;
    int s = make_key(&k, pkt);
    _Static_assert(sizeof(k) <= 4 * MSHASH_MAX_WORDS, "flow key longer than mshash takes");
    uint64_t h = mshash(&ft->mh, &k, sizeof(k));
    struct flow *f = find(ft, &k, h);

    if (f && is_reuse(f, pkt, s)) {
        ft->stats.reused++;
        destroy(ft, f, "reuse");
        f = NULL;
    }
    if (!f) {
        if (!make_room(ft))
            return NULL;
        f = calloc(1, sizeof(*f));
        if (!f) {
            ft->stats.memcap++;
            return NULL;
        }
        f->key = k;
        f->hash = h;
        f->flow_id = mix_id(++ft->id_counter, ft->id_mult);
        f->first_us = f->last_us = now_us;
        f->client = (uint8_t)s;  /* provisional: the first sender */
        f->hnext = ft->buckets[h & ft->mask];
        ft->buckets[h & ft->mask] = f;
        list_append(&ft->open, f);
        ft->used += ft->flow_cost;
        ft->stats.total++;
        ft->stats.active++;
    } else {
        /* Packet time may step back a little where captures were merged; last_us never does. */
        if (now_us > f->last_us)
            f->last_us = now_us;
        struct idle_list *l = list_of(ft, f);
        if (l->newest != f) {
            list_unlink(l, f);
            list_append(l, f);
        }
    }

    update_client(f, pkt, s);
    track_tcp(f, pkt, s);
    f->pkts[s]++;
    f->bytes[s] += pkt->wirelen;
    if (side)
        *side = s;
    return f;
}

void flow_set_client(struct flow *f, int side)
{
    f->client = side ? 1 : 0;
    f->client_known = 1;
}

/* Moves f to the closed list; idempotent. Cannot fail. */
void flow_mark_closed(struct flow_table *ft, struct flow *f)
{
    if (f->closed)
        return;
    list_unlink(&ft->open, f);
    f->closed = 1;
    list_append(&ft->closed, f);
}

static int is_due(uint64_t now_us, const struct flow *f, uint64_t timeout_us)
{
    return now_us > f->last_us && now_us - f->last_us > timeout_us;
}

/* Frees every flow whose idle time exceeds its list's timeout, calling on_free first. */
void flow_expire(struct flow_table *ft, uint64_t now_us)
{
    while (ft->closed.oldest && is_due(now_us, ft->closed.oldest, ft->closed_timeout_us)) {
        ft->stats.timed_out++;
        destroy(ft, ft->closed.oldest, "closed");
    }
    while (ft->open.oldest && is_due(now_us, ft->open.oldest, ft->timeout_us)) {
        ft->stats.timed_out++;
        destroy(ft, ft->open.oldest, "timeout");
    }
}

uint64_t flow_next_due(const struct flow_table *ft)
{
    uint64_t due = UINT64_MAX;
    if (ft->closed.oldest)
        due = ft->closed.oldest->last_us + ft->closed_timeout_us + 1; /* is_due's bound */
    if (ft->open.oldest && ft->open.oldest->last_us + ft->timeout_us + 1 < due)
        due = ft->open.oldest->last_us + ft->timeout_us + 1;
    return due;
}

const struct flow_stats *flow_table_stats(const struct flow_table *ft)
{
    return &ft->stats;
}

/* ---- Community ID v1 ----------------------------------------------------------------------- */

/* Writes "1:<base64 of SHA-1>" (30 characters and a NUL) into buf. The spec orders the two
 * endpoints by (address, port), whoever the client is, so for TCP the client side does not
 * change the result; our canonical key already holds that order (side 0 first). On a buffer
 * shorter than 31 bytes or a digest failure, buf gets the empty string. */
void flow_community_id(const struct flow *f, char *buf, size_t buflen)
{
    if (!buf || buflen == 0)
        return;
    buf[0] = '\0';
    if (buflen < 31)
        return;

    const struct flow_key *k = &f->key;
    size_t alen = k->ip_version == 4 ? 4 : 16;
    uint8_t msg[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    msg[n++] = 0; /* seed 0, big-endian */
    msg[n++] = 0;
    memcpy(msg + n, k->addr[0], alen);
    n += alen;
    memcpy(msg + n, k->addr[1], alen);
    n += alen;
    msg[n++] = k->proto;
    msg[n++] = 0;
    msg[n++] = (uint8_t)(k->port[0] >> 8);
    msg[n++] = (uint8_t)k->port[0];
    msg[n++] = (uint8_t)(k->port[1] >> 8);
    msg[n++] = (uint8_t)k->port[1];

    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(msg, n, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
        return;
    buf[0] = '1';
    buf[1] = ':';
    EVP_EncodeBlock((unsigned char *)buf + 2, md, 20); /* 28 chars and a NUL */
}
