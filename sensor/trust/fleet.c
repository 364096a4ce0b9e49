/* fleet.c — the fleet's local side (fleet.h): the caches that keep the packet path off the
 * network, the request queue and the answers going back to each worker.
 *
 * Pipeline: app layer ─► [fleet_sighting_due / fleet_publish_due ─► fleet_push ─► queue] ─►
 * writer thread (fleet_redis.c) ─► [fleet_deliver ─► the worker's results] ─► app layer.
 *
 * Local sighting cache: sets of SEEN_WAYS slots of (keyed SipHash of sha256 and network, packet
 * time sent); the hash picks the set. A slot of the set holding the same tag within the window
 * says "sent"; otherwise the pair takes an empty slot, one outside the window, or the one sent
 * longest ago. So each pair goes out once per window while the cache holds it: at the default
 * fleet.memcap (2 MiB of it: 131,072 slots) a run needs nine pairs in one set of eight to
 * resend one. Past that (a flood of distinct tokens) a pair may go out again, which Redis
 * stores idempotently. Traffic cannot aim pairs at one set: the hash is keyed per run.
 *
 * Indicator table: the other half of fleet.memcap, a ring of entries in arrival order with
 * bucket chains over it (keyed SipHash of the sha256); when full, the oldest entry goes. Looked
 * up on every token occurrence under one mutex, skipped without the lock until the first
 * indicator arrives.
 */
#include "fleet.h"
#include "fleet_int.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "hex.h"
#include "policy.h"
#include "siphash.h"
#include "thread.h"
#include "timewait.h"

static uint64_t floor_pow2(uint64_t x)
{
    uint64_t p = 1;
    while (p <= x / 2)
        p <<= 1;
    return p;
}

int fleet_configured(const struct config *cfg)
{
    return cfg && (cfg->fleet_server || cfg->fleet_path);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

struct fleet *fleet_new(const struct config *cfg, size_t nworkers, char *err, size_t errlen)
{
    struct fleet *f = calloc(1, sizeof(*f));
    if (!f || nworkers == 0) {
        free(f);
        snprintf(err, errlen, "fleet: out of memory");
        return NULL;
    }
    f->server = dup_or_null(cfg->fleet_server ? cfg->fleet_server : "127.0.0.1");
    f->path = dup_or_null(cfg->fleet_path);
    f->password = dup_or_null(cfg->fleet_password);
    f->port = cfg->fleet_port;
    f->db = cfg->fleet_db;
    f->window = cfg->fleet_window;
    f->netbits4 = cfg->fleet_networks;
    f->netbits6 = cfg->fleet_networks_v6;
    f->queue_cap = cfg->fleet_queue;
    f->rate_max = cfg->fleet_unverified_rate;
    f->rate_sec = INT64_MIN;
    if (cfg->sensor_name)
        snprintf(f->name, sizeof(f->name), "%s", cfg->sensor_name);
    else if (gethostname(f->name, sizeof(f->name) - 1) != 0 || !f->name[0])
        snprintf(f->name, sizeof(f->name), "tokenwatch");
    if (f->path)
        snprintf(f->where, sizeof(f->where), "%s", f->path);
    else
        snprintf(f->where, sizeof(f->where), "%s:%d", f->server, f->port);
    siphash_random_key(f->seed);

    uint64_t half = cfg->fleet_memcap / 2;
    uint64_t nseen = floor_pow2(half / sizeof(struct fleet_seen));
    uint64_t per_ind = sizeof(struct fleet_ind) + 2 * sizeof(int32_t);
    uint64_t nind = half / per_ind;
    if (nind < 16)
        nind = 16;
    if (nind > INT32_MAX / 4)
        nind = INT32_MAX / 4;
    uint64_t nb = floor_pow2(nind) * 2;
    f->seen = calloc(nseen, sizeof(*f->seen));
    f->seen_mask = nseen - 1;
    f->ind = calloc(nind, sizeof(*f->ind));
    f->ind_cap = (uint32_t)nind;
    f->ind_buckets = malloc(nb * sizeof(*f->ind_buckets));
    f->ind_bmask = (uint32_t)(nb - 1);
    f->w = aligned_alloc(64, (nworkers * sizeof(*f->w) + 63) / 64 * 64);
    if (f->w)
        memset(f->w, 0, nworkers * sizeof(*f->w));
    f->nw = nworkers;
    f->wake[0] = f->wake[1] = -1;
    if (!f->server || (cfg->fleet_path && !f->path) || (cfg->fleet_password && !f->password) ||
        !f->seen || !f->ind || !f->ind_buckets || !f->w || pipe2(f->wake, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "fleet: out of memory");
        f->nw = 0;
        fleet_free(f);
        return NULL;
    }
    memset(f->ind_buckets, 0xff, nb * sizeof(*f->ind_buckets)); /* -1: empty */
    pthread_mutex_init(&f->seen_mu, NULL);
    pthread_mutex_init(&f->ind_mu, NULL);
    pthread_mutex_init(&f->q_mu, NULL);
    timewait_cond_init(&f->q_cv);
    for (size_t i = 0; i < nworkers; i++)
        pthread_mutex_init(&f->w[i].mu, NULL);

    char why[256]; /* an unreachable Redis is said once, by the writer thread */
    (void)fleet_sub_connect(f, why, sizeof(why));
    if (thread_start(&f->writer, fleet_writer_main, f) != 0) {
        snprintf(err, errlen, "fleet: cannot start the Redis writer thread");
        fleet_free(f);
        return NULL;
    }
    f->writer_started = 1;
    if (thread_start(&f->sub, fleet_sub_main, f) != 0) {
        snprintf(err, errlen, "fleet: cannot start the Redis subscriber thread");
        fleet_free(f);
        return NULL;
    }
    f->sub_started = 1;
    return f;
}

void fleet_free(struct fleet *f)
{
    if (!f)
        return;
    atomic_store(&f->stop, 1);
    if (f->wake[1] >= 0 && write(f->wake[1], "x", 1) < 0) {
        /* the subscriber sees the flag within its poll timeout instead */
    }
    if (f->nw) {
        pthread_mutex_lock(&f->q_mu);
        pthread_cond_broadcast(&f->q_cv);
        pthread_mutex_unlock(&f->q_mu);
    }
    if (f->writer_started)
        pthread_join(f->writer, NULL);
    if (f->sub_started)
        pthread_join(f->sub, NULL);
    fleet_sub_free(f);
    for (struct fleet_req *r = f->q_head, *n; r; r = n) { /* never sent */
        n = r->next;
        atomic_fetch_add(&f->dropped, 1);
        fleet_req_free(r);
    }
    for (size_t i = 0; i < f->nw; i++) {
        for (struct fleet_req *r = f->w[i].res_head, *n; r; r = n) {
            n = r->next;
            fleet_req_free(r);
        }
        pthread_mutex_destroy(&f->w[i].mu);
    }
    if (f->nw) {
        pthread_mutex_destroy(&f->seen_mu);
        pthread_mutex_destroy(&f->ind_mu);
        pthread_mutex_destroy(&f->q_mu);
        pthread_cond_destroy(&f->q_cv);
    }
    for (int i = 0; i < 2; i++)
        if (f->wake[i] >= 0)
            close(f->wake[i]);
    free(f->w);
    free(f->seen);
    free(f->ind);
    free(f->ind_buckets);
    free(f->server);
    free(f->path);
    if (f->password)
        memset(f->password, 0, strlen(f->password));
    free(f->password);
    free(f);
}

/* ---- networks and the sighting cache ---- */

static void mask_bits(uint8_t *a, size_t len, uint32_t bits)
{
    for (size_t i = 0; i < len; i++) {
        uint32_t keep = bits >= 8 ? 8 : bits;
        a[i] &= (uint8_t)(0xff00u >> keep);
        bits -= keep;
    }
}

void fleet_network(const struct fleet *f, const uint8_t addr[16], uint8_t net[16],
                   char str[FLEET_NET_MAX])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memcpy(net, addr, 16);
    int v4 = !memcmp(addr, mapped, 12);
    if (v4)
        mask_bits(net + 12, 4, f->netbits4);
    else
        mask_bits(net, 16, f->netbits6);
    if (!str)
        return;
    char a[INET6_ADDRSTRLEN];
    inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? net + 12 : net, a, sizeof(a));
    snprintf(str, FLEET_NET_MAX, "%s/%u", a, v4 ? f->netbits4 : f->netbits6);
}

static int within(const struct fleet *f, const struct fleet_seen *e, int64_t now_s)
{
    int64_t d = now_s - e->at;
    return d <= f->window && d >= -f->window;
}

/* The set of SEEN_WAYS slots the tag belongs to holds it within the window, sent no later than
 * now_s: 0 (not due). Else the tag takes its slot, or an empty one, or one outside the window,
 * or the one sent longest ago: 1 (due). An occurrence older than the one sent (packet time
 * stepping back: workers reading files, merged captures) goes out again, so that the fleet's
 * first sighting of a pair stays its earliest. */
static int due(struct fleet *f, const uint8_t key[48], int64_t now_s, int64_t *sent)
{
    uint64_t tag = siphash13(f->seed, key, 48) | 1; /* 0 marks an empty slot */
    struct fleet_seen *set = &f->seen[(tag >> 1) & f->seen_mask & ~(uint64_t)(SEEN_WAYS - 1)];
    pthread_mutex_lock(&f->seen_mu);
    struct fleet_seen *take = NULL;
    for (int i = 0; i < SEEN_WAYS; i++)
        if (set[i].tag == tag) {
            take = &set[i];
            break;
        }
    int fresh = take && within(f, take, now_s) && now_s >= take->at;
    if (!take) {
        take = &set[0];
        for (int i = 0; i < SEEN_WAYS && take->tag && within(f, take, now_s); i++)
            if (!set[i].tag || !within(f, &set[i], now_s) || set[i].at < take->at)
                take = &set[i];
    }
    if (!fresh) {
        take->tag = tag;
        take->at = now_s;
    }
    if (sent)
        *sent = take->at;
    pthread_mutex_unlock(&f->seen_mu);
    return !fresh;
}

int fleet_sighting_due(struct fleet *f, const uint8_t sha[32], const uint8_t net[16],
                       int64_t now_s, int64_t *sent)
{
    uint8_t key[48];
    memcpy(key, sha, 32);
    memcpy(key + 32, net, 16);
    return due(f, key, now_s, sent);
}

int fleet_unverified_allowed(struct fleet *f, int64_t now_s)
{
    pthread_mutex_lock(&f->seen_mu);
    if (now_s != f->rate_sec) {
        f->rate_sec = now_s;
        f->rate_used = 0;
    }
    int ok = f->rate_used < f->rate_max;
    f->rate_used += (uint32_t)ok;
    pthread_mutex_unlock(&f->seen_mu);
    if (!ok)
        atomic_fetch_add(&f->limited, 1);
    return ok;
}

int fleet_publish_due(struct fleet *f, const uint8_t sha[32], int64_t now_s)
{
    uint8_t key[48];
    memcpy(key, sha, 32);
    memset(key + 32, 0xff, 16); /* no client network is all ones with its prefix applied... */
    key[32] = 0xfe;             /* ...and none starts with this byte pattern in this slot */
    return due(f, key, now_s, NULL);
}

/* ---- requests and answers ---- */

struct fleet_req *fleet_req_new(void)
{
    return calloc(1, sizeof(struct fleet_req));
}

void fleet_req_free(struct fleet_req *r)
{
    if (r && r->user_free)
        r->user_free(r->user);
    free(r);
}

int fleet_push(struct fleet *f, struct fleet_req *r)
{
    atomic_fetch_add(r->kind == FLEET_PUBLISH ? &f->published : &f->sightings, 1);
    r->next = NULL;
    r->status = FLEET_PENDING;
    pthread_mutex_lock(&f->q_mu);
    if (f->q_len >= f->queue_cap || atomic_load(&f->stop)) {
        pthread_mutex_unlock(&f->q_mu);
        r->status = FLEET_DROPPED;
        atomic_fetch_add(&f->dropped, 1);
        return -1;
    }
    atomic_fetch_add(&f->w[r->worker].outstanding, 1);
    if (f->q_tail)
        f->q_tail->next = r;
    else
        f->q_head = r;
    f->q_tail = r;
    f->q_len++;
    if (f->writer_idle) /* else it is sending, or lingering for a fuller batch */
        pthread_cond_signal(&f->q_cv);
    pthread_mutex_unlock(&f->q_mu);
    return 0;
}

void fleet_deliver(struct fleet *f, struct fleet_req *r, int st)
{
    r->status = (uint8_t)st;
    r->next = NULL;
    if (st == FLEET_DONE)
        atomic_fetch_add(&f->sent, 1);
    else if (st == FLEET_ERROR)
        atomic_fetch_add(&f->errors, 1);
    else
        atomic_fetch_add(&f->dropped, 1);
    struct fleet_worker *w = &f->w[r->worker];
    pthread_mutex_lock(&w->mu);
    if (w->res_tail)
        w->res_tail->next = r;
    else
        w->res_head = r;
    w->res_tail = r;
    atomic_store_explicit(&w->ready, 1, memory_order_release);
    atomic_fetch_sub(&w->outstanding, 1);
    pthread_mutex_unlock(&w->mu);
}

void fleet_requeue(struct fleet *f, struct fleet_req *head, struct fleet_req *tail, uint32_t n)
{
    if (!head)
        return;
    pthread_mutex_lock(&f->q_mu);
    tail->next = f->q_head;
    f->q_head = head;
    if (!f->q_tail)
        f->q_tail = tail;
    f->q_len += n;
    pthread_mutex_unlock(&f->q_mu);
}

int fleet_has_results(struct fleet *f, size_t w)
{
    return atomic_load_explicit(&f->w[w].ready, memory_order_relaxed);
}

struct fleet_req *fleet_results(struct fleet *f, size_t w)
{
    struct fleet_worker *fw = &f->w[w];
    if (!atomic_load_explicit(&fw->ready, memory_order_acquire))
        return NULL;
    pthread_mutex_lock(&fw->mu);
    struct fleet_req *r = fw->res_head;
    fw->res_head = fw->res_tail = NULL;
    atomic_store_explicit(&fw->ready, 0, memory_order_relaxed);
    pthread_mutex_unlock(&fw->mu);
    return r;
}

/* Takes worker w's requests out of the queue; they come back FLEET_DROPPED. */
static void abandon(struct fleet *f, size_t w)
{
    struct fleet_req *mine = NULL, **tail = &mine;
    pthread_mutex_lock(&f->q_mu);
    struct fleet_req **at = &f->q_head, *last = NULL;
    while (*at) {
        struct fleet_req *r = *at;
        if (r->worker == w) {
            *at = r->next;
            f->q_len--;
            r->next = NULL;
            *tail = r;
            tail = &r->next;
        } else {
            last = r;
            at = &r->next;
        }
    }
    f->q_tail = last;
    pthread_mutex_unlock(&f->q_mu);
    for (struct fleet_req *r = mine, *n; r; r = n) {
        n = r->next;
        fleet_deliver(f, r, FLEET_DROPPED);
    }
}

void fleet_wait(struct fleet *f, size_t w, uint64_t deadline_ns)
{
    struct fleet_worker *fw = &f->w[w];
    uint64_t fails0 = atomic_load(&f->connect_failures);
    pthread_mutex_lock(&f->q_mu);
    f->hurry = 1; /* a writer in its backoff tries again now */
    pthread_cond_broadcast(&f->q_cv);
    pthread_mutex_unlock(&f->q_mu);
    while (atomic_load(&fw->outstanding) > 0 && timewait_now_ns() < deadline_ns) {
        if (!atomic_load(&f->connected) && atomic_load(&f->connect_failures) > fails0)
            break; /* Redis is not there: a fresh attempt failed */
        timewait_sleep_ms(5);
    }
}

void fleet_settle(struct fleet *f, size_t w, uint64_t deadline_ns)
{
    struct fleet_worker *fw = &f->w[w];
    fleet_wait(f, w, deadline_ns);
    /* What is queued is dropped; what the writer has in flight comes back within its reply
     * timeout (answered, or requeued after a loss and then dropped here). */
    uint64_t hard = timewait_now_ns() + 10000000000ull;
    for (;;) {
        abandon(f, w);
        if (atomic_load(&fw->outstanding) == 0 || timewait_now_ns() > hard)
            break;
        timewait_sleep_ms(5);
    }
}

/* ---- indicators ---- */

static uint32_t ind_bucket(const struct fleet *f, const uint8_t sha[32])
{
    return (uint32_t)siphash13(f->seed, sha, 32) & f->ind_bmask;
}

static struct fleet_ind *ind_find(struct fleet *f, const uint8_t sha[32], int32_t **link)
{
    int32_t *at = &f->ind_buckets[ind_bucket(f, sha)];
    while (*at >= 0) {
        struct fleet_ind *e = &f->ind[*at];
        if (!memcmp(e->sha, sha, 32)) {
            if (link)
                *link = at;
            return e;
        }
        at = &e->next;
    }
    return NULL;
}

static void ind_add(struct fleet *f, const uint8_t sha[32], const struct fleet_indicator *v,
                    int64_t expires)
{
    pthread_mutex_lock(&f->ind_mu);
    struct fleet_ind *e = ind_find(f, sha, NULL);
    if (e) { /* known: keep the first judgment, extend its life */
        if (expires > e->expires)
            e->expires = expires;
        pthread_mutex_unlock(&f->ind_mu);
        return;
    }
    uint32_t i = f->ind_next;
    f->ind_next = (i + 1) % f->ind_cap;
    e = &f->ind[i];
    if (f->ind_count == f->ind_cap) { /* the ring is full: the oldest goes */
        int32_t *link = NULL;
        if (ind_find(f, e->sha, &link) == e)
            *link = e->next;
    } else {
        f->ind_count++;
    }
    memcpy(e->sha, sha, 32);
    e->v = *v;
    e->expires = expires;
    uint32_t b = ind_bucket(f, sha);
    e->next = f->ind_buckets[b];
    f->ind_buckets[b] = (int32_t)i;
    atomic_fetch_add(&f->ind_known, 1);
    pthread_mutex_unlock(&f->ind_mu);
    atomic_fetch_add(&f->indicators, 1);
}

int fleet_learn(struct fleet *f, const char *s, size_t len, int64_t ttl)
{
    char buf[512];
    if (len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    /* "<64 hex> <time> <codes> <sensor>" */
    char *sp1 = strchr(buf, ' ');
    if (!sp1 || sp1 - buf != 64)
        return -1;
    uint8_t sha[32];
    for (int i = 0; i < 32; i++) {
        int hi = hex_digit((uint8_t)buf[2 * i]), lo = hex_digit((uint8_t)buf[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        sha[i] = (uint8_t)(hi << 4 | lo);
    }
    char *end;
    struct fleet_indicator v = {0};
    v.ts = strtoll(sp1 + 1, &end, 10);
    if (*end != ' ')
        return -1;
    char *codes = end + 1, *sp3 = strchr(codes, ' ');
    if (!sp3 || !sp3[1])
        return -1;
    *sp3 = '\0';
    snprintf(v.sensor, sizeof(v.sensor), "%s", sp3 + 1);
    for (char *c = strtok_r(codes, ",", &end); c; c = strtok_r(NULL, ",", &end))
        for (int k = 0; k < F__COUNT; k++)
            if (!strcmp(c, policy_findings[k].code))
                v.findings |= 1u << k;
    if (!v.findings)
        return -1;
    if (ttl < 1)
        ttl = 1;
    ind_add(f, sha, &v, (int64_t)time(NULL) + ttl);
    return 0;
}

int fleet_indicator(struct fleet *f, size_t w, const uint8_t sha[32],
                    struct fleet_indicator *out)
{
    /* Only worker w writes its counter: a relaxed load and store, no locked add. */
    _Atomic uint64_t *n = &f->w[w].lookups;
    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (!atomic_load_explicit(&f->ind_known, memory_order_acquire))
        return 0;
    pthread_mutex_lock(&f->ind_mu);
    struct fleet_ind *e = ind_find(f, sha, NULL);
    int hit = e && e->expires >= (int64_t)time(NULL) && strcmp(e->v.sensor, f->name) != 0;
    if (hit)
        *out = e->v;
    pthread_mutex_unlock(&f->ind_mu);
    return hit;
}

const char *fleet_sensor_name(const struct fleet *f)
{
    return f->name;
}

void fleet_count_alert(struct fleet *f, int kind)
{
    atomic_fetch_add(kind == FLEET_ALERT_REPLAY ? &f->replay_alerts : &f->indicator_alerts, 1);
}

void fleet_get_stats(struct fleet *f, struct fleet_stats *o)
{
    o->sightings = atomic_load(&f->sightings);
    o->published = atomic_load(&f->published);
    o->sent = atomic_load(&f->sent);
    o->errors = atomic_load(&f->errors);
    o->dropped = atomic_load(&f->dropped);
    o->limited = atomic_load(&f->limited);
    o->batched = atomic_load(&f->batched);
    o->reconnects = atomic_load(&f->reconnects);
    o->lookups = 0;
    for (size_t i = 0; i < f->nw; i++)
        o->lookups += atomic_load_explicit(&f->w[i].lookups, memory_order_relaxed);
    o->indicators = atomic_load(&f->indicators);
    o->replay_alerts = atomic_load(&f->replay_alerts);
    o->indicator_alerts = atomic_load(&f->indicator_alerts);
}
