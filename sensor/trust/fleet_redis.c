/* fleet_redis.c — the fleet's two Redis connections (fleet.h): the writer thread, which sends
 * the queued sightings and publishes in pipelined batches, and the subscriber thread, which
 * learns the indicators other sensors publish.
 *
 * Pipeline: queue (fleet.c) ─► [writer: batch of up to BATCH requests, one round trip] ─►
 * Redis ─► answers ─► fleet_deliver; Redis channel ─► [subscriber] ─► fleet_learn.
 *
 * A sighting is one EVALSHA of SIGHT_LUA over the token's two keys (one hash tag: one Cluster
 * slot), so the count that decides a replay and the sighting that changes it are one atomic
 * step: two sensors racing on one token see 2 and 3 (or 3 and 4), never 2 and 2. The script
 * drops sightings older than the window, counts networks and sensors, keeps the earliest first
 * sighting, caps a token at MAX_FIELDS (network, sensor) pairs (a flood of networks cannot grow
 * one key without bound; it is counted already) and only ever lengthens the key's expiry.
 *
 * A publish is SET of the indicator key with its expiry, ZADD_LUA on the set of indicators
 * (dropping those expired; the set's expiry only lengthened) and PUBLISH on the channel: three
 * single-key commands, each Cluster-safe.
 *
 * Failures: no connection: the requests wait in the queue and the writer retries after a backoff
 * of 100 ms doubling to 5 s (fleet_settle cuts a wait short). A connection lost in a batch, or
 * a transient reply (-LOADING after a restart, -BUSY, -TRYAGAIN, -MASTERDOWN, -NOSCRIPT after a
 * restart or SCRIPT FLUSH): the requests not answered go back to the head of the queue and the
 * writer connects again (loading its scripts again). Any other error reply (-OOM, -WRONGTYPE,
 * -NOAUTH ...) ends that request as an error (counted; the first said on stderr). Each loss and
 * each recovery is said once on stderr. A server that does not answer within REPLY_TIMEOUT_S
 * counts as lost. SIGPIPE is blocked in both threads.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "fleet.h"
#include "fleet_int.h"
#include "hex.h"
#include "policy.h"
#include "timewait.h"

#define BATCH 128
#define LINGER_MS 5u
#define MAX_FIELDS 1000
#define CONNECT_TIMEOUT_S 1
#define REPLY_TIMEOUT_S 2
#define BACKOFF_MIN_MS 100u
#define BACKOFF_MAX_MS 5000u
#define KEY_PREFIX "tokenwatch:"
#define CHANNEL "tokenwatch:indicators"
#define INDICATORS "tokenwatch:indicators"

/* KEYS: sightings hash, indicator string. ARGV: network, sensor, packet time, window, ttl,
 * MAX_FIELDS. Returns {networks, sensors, names ('\n'), first sensor, first network, first
 * time, indicator or '', indicator ttl}. */
static const char SIGHT_LUA[] =
    "local now, win, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local mine = ARGV[1] .. '|' .. ARGV[2]\n"
    "local all = redis.call('HGETALL', KEYS[1])\n"
    "local nets, sens, names = {}, {}, {}\n"
    "local nn, ns = 0, 0\n"
    "local ff, fk, fs, fn = nil, nil, nil, nil\n"
    "local first, last, have = now, now, false\n"
    "local function count(k, n, s, a)\n"
    "  if not nets[n] then nets[n] = true; nn = nn + 1 end\n"
    "  if not sens[s] then sens[s] = true; ns = ns + 1; names[#names + 1] = s end\n"
    "  if ff == nil or a < ff or (a == ff and k < fk) then ff, fk, fs, fn = a, k, s, n end\n"
    "end\n"
    "for i = 1, #all, 2 do\n"
    "  local k, v = all[i], all[i + 1]\n"
    "  local a, b = string.match(v, '^(%-?%d+) (%-?%d+)$')\n"
    "  a = tonumber(a); b = tonumber(b)\n"
    "  local bar = string.find(k, '|', 1, true)\n"
    "  if not a or not b or not bar or math.abs(now - b) > win then\n"
    "    redis.call('HDEL', KEYS[1], k)\n"
    "  elseif k == mine then\n"
    "    first = math.min(a, now); last = math.max(b, now); have = true\n"
    "  else\n"
    "    count(k, string.sub(k, 1, bar - 1), string.sub(k, bar + 1), a)\n"
    "  end\n"
    "end\n"
    "count(mine, ARGV[1], ARGV[2], first)\n"
    "if have or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[6]) then\n"
    "  redis.call('HSET', KEYS[1], mine, string.format('%d %d', first, last))\n"
    "end\n"
    "if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('TTL', KEYS[1]) < ttl then\n"
    "  redis.call('EXPIRE', KEYS[1], ttl)\n"
    "end\n"
    "table.sort(names)\n"
    "local shown = {}\n"
    "for i = 1, math.min(#names, 16) do shown[i] = names[i] end\n"
    "local ind = redis.call('GET', KEYS[2])\n"
    "local it = 0\n"
    "if ind then it = redis.call('TTL', KEYS[2]) else ind = '' end\n"
    "return {nn, ns, table.concat(shown, '\\n'), fs, fn, ff, ind, it}\n";

/* KEYS: the set of indicators. ARGV: expiry (wall s), sha256 hex, ttl, now (wall s). */
static const char ZADD_LUA[] =
    "redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4])\n"
    "if redis.call('TTL', KEYS[1]) < tonumber(ARGV[3]) then\n"
    "  redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
    "end\n"
    "return 1\n";

static void block_sigpipe(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
}

static int reply_ok(redisReply *r, char *why, size_t n, const char *what)
{
    int ok = r && r->type != REDIS_REPLY_ERROR;
    if (!ok)
        snprintf(why, n, "%s: %s", what, r ? r->str : "no answer");
    freeReplyObject(r);
    return ok;
}

/* A connection with timeouts, authenticated and on the right database; NULL with why. */
static redisContext *rconnect(struct fleet *f, char *why, size_t n)
{
    struct timeval tv = {CONNECT_TIMEOUT_S, 0};
    redisContext *c = f->path ? redisConnectUnixWithTimeout(f->path, tv)
                              : redisConnectWithTimeout(f->server, f->port, tv);
    if (!c || c->err) {
        snprintf(why, n, "%s", c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    struct timeval rt = {REPLY_TIMEOUT_S, 0};
    redisSetTimeout(c, rt);
    if ((f->password && !reply_ok(redisCommand(c, "AUTH %s", f->password), why, n, "AUTH")) ||
        (f->db && !reply_ok(redisCommand(c, "SELECT %u", f->db), why, n, "SELECT"))) {
        redisFree(c);
        return NULL;
    }
    return c;
}

static int load_script(redisContext *c, const char *lua, char sha[41], char *why, size_t n)
{
    redisReply *r = redisCommand(c, "SCRIPT LOAD %s", lua);
    int ok = r && r->type == REDIS_REPLY_STRING && r->len == 40;
    if (ok)
        memcpy(sha, r->str, 41);
    else
        snprintf(why, n, "SCRIPT LOAD: %s", r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
    freeReplyObject(r);
    return ok;
}

/* ---- the writer ---- */

struct writer {
    struct fleet *f;
    redisContext *c;
    char sight[41], zadd[41];
    int error_said;
};

static void key_of(char *out, size_t n, const uint8_t sha[32], const char *suffix)
{
    char hex[65];
    hex_encode(sha, 32, hex);
    hex[64] = '\0';
    snprintf(out, n, KEY_PREFIX "{%s}:%s", hex, suffix);
}

/* "<sha hex> <time> <codes> <sensor>" */
static void indicator_value(const struct fleet *f, const struct fleet_req *r, char *out, size_t n)
{
    char hex[65];
    hex_encode(r->sha, 32, hex);
    hex[64] = '\0';
    int at = snprintf(out, n, "%s %lld ", hex, (long long)r->pkt_s);
    int sep = 0;
    for (int k = 0; k < F__COUNT && at > 0 && (size_t)at < n; k++)
        if (r->findings & (1u << k)) {
            at += snprintf(out + at, n - (size_t)at, "%s%s", sep ? "," : "", policy_findings[k].code);
            sep = 1;
        }
    if (at > 0 && (size_t)at < n)
        snprintf(out + at, n - (size_t)at, " %s", f->name);
}

/* v in decimal into out (>= 21 bytes); its length. */
static size_t num(char *out, long long v)
{
    char t[24];
    size_t n = 0;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        t[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = t[--n];
    return len;
}

/* "tokenwatch:{<hex>}:<suffix>" into out (>= 128 bytes); its length. */
static size_t key_at(char *out, const char hex[64], const char *suffix)
{
    static const char pre[] = KEY_PREFIX "{";
    size_t n = sizeof(pre) - 1, s = strlen(suffix);
    memcpy(out, pre, n);
    memcpy(out + n, hex, 64);
    n += 64;
    out[n++] = '}';
    out[n++] = ':';
    memcpy(out + n, suffix, s);
    return n + s;
}

/* Appends one RESP bulk string to out (room checked by the caller: 16 + n bytes). */
static size_t resp_bulk(char *out, const char *s, size_t n)
{
    size_t at = 0;
    out[at++] = '$';
    at += num(out + at, (long long)n);
    out[at++] = '\r';
    out[at++] = '\n';
    memcpy(out + at, s, n);
    at += n;
    out[at++] = '\r';
    out[at++] = '\n';
    return at;
}

/* One sighting: EVALSHA of SIGHT_LUA, written as RESP here (the fleet's hot command: hiredis'
 * formatting cost 7,500 instructions a command under callgrind, this a few hundred). */
static void append_sighting(struct writer *wr, const struct fleet_req *r)
{
    struct fleet *f = wr->f;
    char hex[65], k1[128], k2[128], n1[24], n2[24], n3[24], n4[24];
    hex_encode(r->sha, 32, hex);
    const char *argv[] = {"EVALSHA", wr->sight, "2", k1, k2, r->network, f->name, n1, n2, n3, n4};
    size_t lens[] = {7, 40, 1, key_at(k1, hex, "sightings"), key_at(k2, hex, "indicator"),
                     strlen(r->network), strlen(f->name), num(n1, (long long)r->pkt_s),
                     num(n2, (long long)f->window), num(n3, (long long)r->ttl),
                     num(n4, MAX_FIELDS)};
    enum { ARGC = sizeof(argv) / sizeof(argv[0]) };
    char cmd[1024]; /* 11 bulks of at most 16 + 128 bytes (a name is < FLEET_NAME_MAX) */
    size_t at = 0;
    cmd[at++] = '*';
    at += num(cmd + at, ARGC);
    cmd[at++] = '\r';
    cmd[at++] = '\n';
    for (int i = 0; i < ARGC; i++)
        at += resp_bulk(cmd + at, argv[i], lens[i]);
    redisAppendFormattedCommand(wr->c, cmd, at);
}

static void append(struct writer *wr, const struct fleet_req *r)
{
    struct fleet *f = wr->f;
    char k1[128];
    if (r->kind == FLEET_SIGHTING) {
        append_sighting(wr, r);
        return;
    }
    char v[512], hex[65];
    indicator_value(f, r, v, sizeof(v));
    key_of(k1, sizeof(k1), r->sha, "indicator");
    hex_encode(r->sha, 32, hex);
    hex[64] = '\0';
    long long now = (long long)time(NULL);
    redisAppendCommand(wr->c, "SET %s %s EX %lld", k1, v, (long long)r->ttl);
    redisAppendCommand(wr->c, "EVALSHA %s 1 %s %lld %s %lld %lld", wr->zadd, INDICATORS,
                       now + (long long)r->ttl, hex, (long long)r->ttl, now);
    redisAppendCommand(wr->c, "PUBLISH %s %s", CHANNEL, v);
}

static int transient(const char *e)
{
    static const char *const t[] = {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "NOSCRIPT"};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strncmp(e, t[i], strlen(t[i])))
            return 1;
    return 0;
}

static void copy_str(char *dst, size_t n, const redisReply *e)
{
    size_t len = e && e->type == REDIS_REPLY_STRING ? e->len : 0;
    if (len >= n)
        len = n - 1;
    if (len)
        memcpy(dst, e->str, len);
    dst[len] = '\0';
}

int fleet_parse_sighting(struct fleet *f, struct fleet_req *r, const void *reply)
{
    const redisReply *a = reply;
    if (a->type != REDIS_REPLY_ARRAY || a->elements < 8 ||
        a->element[0]->type != REDIS_REPLY_INTEGER || a->element[1]->type != REDIS_REPLY_INTEGER ||
        a->element[5]->type != REDIS_REPLY_INTEGER)
        return -1;
    r->networks = (uint32_t)a->element[0]->integer;
    r->nsensors = (uint32_t)a->element[1]->integer;
    copy_str(r->sensors, sizeof(r->sensors), a->element[2]);
    copy_str(r->first_sensor, sizeof(r->first_sensor), a->element[3]);
    copy_str(r->first_network, sizeof(r->first_network), a->element[4]);
    r->first_s = a->element[5]->integer;
    const redisReply *ind = a->element[6];
    if (ind->type == REDIS_REPLY_STRING && ind->len > 0) {
        long long ttl = a->element[7]->type == REDIS_REPLY_INTEGER ? a->element[7]->integer : 0;
        r->indicator = fleet_learn(f, ind->str, ind->len, ttl > 0 ? ttl : f->window) == 0;
    }
    return 0;
}

/* Sends b[0..n) in one round trip. 0, or -1 when the connection must be made again (lost, or a
 * transient reply): the requests not answered are back in the queue. */
static int send_batch(struct writer *wr, struct fleet_req **b, size_t n)
{
    struct fleet *f = wr->f;
    for (size_t i = 0; i < n; i++)
        append(wr, b[i]);
    struct fleet_req *back = NULL, **bt = &back, *last = NULL;
    uint32_t nback = 0;
    int lost = 0, again = 0;
    for (size_t i = 0; i < n; i++) {
        struct fleet_req *r = b[i];
        int nrep = r->kind == FLEET_PUBLISH ? 3 : 1, err = 0, trans = 0;
        for (int k = 0; k < nrep && !lost; k++) {
            redisReply *rep = NULL;
            if (lost || redisGetReply(wr->c, (void **)&rep) != REDIS_OK) {
                lost = 1;
                break;
            }
            if (rep->type == REDIS_REPLY_ERROR) {
                if (transient(rep->str)) {
                    trans = 1;
                } else {
                    err = 1;
                    if (!wr->error_said) {
                        fprintf(stderr, "tokenwatch: fleet: Redis at %s answered an error: %s "
                                "(counted in stats.fleet.errors)\n", f->where, rep->str);
                        wr->error_said = 1;
                    }
                }
            } else if (k == 0 && r->kind == FLEET_SIGHTING && fleet_parse_sighting(f, r, rep) != 0) {
                err = 1;
            }
            freeReplyObject(rep);
        }
        if (lost || trans) {
            r->next = NULL;
            *bt = r;
            bt = &r->next;
            last = r;
            nback++;
            again = 1;
            continue;
        }
        fleet_deliver(f, r, err ? FLEET_ERROR : FLEET_DONE);
    }
    fleet_requeue(f, back, last, nback);
    return again ? -1 : 0;
}

static void writer_backoff(struct fleet *f, unsigned ms)
{
    uint64_t until = timewait_now_ns() + (uint64_t)ms * 1000000ull;
    pthread_mutex_lock(&f->q_mu);
    while (!atomic_load(&f->stop) && !f->hurry && timewait_now_ns() < until)
        timewait_until(&f->q_cv, &f->q_mu, until);
    f->hurry = 0;
    pthread_mutex_unlock(&f->q_mu);
}

void *fleet_writer_main(void *arg)
{
    struct writer wr = {.f = arg};
    struct fleet *f = wr.f;
    block_sigpipe();
    unsigned backoff = BACKOFF_MIN_MS;
    int ever = 0, down_said = 0;
    struct fleet_req *b[BATCH];
    for (;;) {
        pthread_mutex_lock(&f->q_mu);
        while (!f->q_head && !atomic_load(&f->stop)) {
            f->writer_idle = 1;
            timewait_for_ms(&f->q_cv, &f->q_mu, 500);
            f->writer_idle = 0;
        }
        /* A batch of one costs a round trip and a wake-up: linger LINGER_MS for more, unless
         * the batch is full or a worker is settling (hurry). */
        if (f->q_len < BATCH && !f->hurry && !atomic_load(&f->stop) && wr.c)
            timewait_until(&f->q_cv, &f->q_mu, timewait_now_ns() + LINGER_MS * 1000000ull);
        int stop = atomic_load(&f->stop);
        pthread_mutex_unlock(&f->q_mu);
        if (stop)
            break;
        if (!wr.c) {
            char why[256];
            wr.c = rconnect(f, why, sizeof(why));
            if (wr.c && (!load_script(wr.c, SIGHT_LUA, wr.sight, why, sizeof(why)) ||
                         !load_script(wr.c, ZADD_LUA, wr.zadd, why, sizeof(why)))) {
                redisFree(wr.c);
                wr.c = NULL;
            }
            if (!wr.c) {
                atomic_fetch_add(&f->connect_failures, 1);
                if (!down_said)
                    fprintf(stderr, "tokenwatch: fleet: Redis at %s unreachable (%s): sightings "
                            "wait for it, up to fleet.queue-size; local verdicts go on\n",
                            f->where, why);
                down_said = 1;
                writer_backoff(f, backoff);
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
                continue;
            }
            if (ever)
                atomic_fetch_add(&f->reconnects, 1);
            if (down_said)
                fprintf(stderr, "tokenwatch: fleet: Redis at %s answers again\n", f->where);
            ever = 1;
            down_said = 0;
            backoff = BACKOFF_MIN_MS;
            atomic_store(&f->connected, 1);
        }
        size_t n = 0;
        pthread_mutex_lock(&f->q_mu);
        while (n < BATCH && f->q_head) {
            b[n++] = f->q_head;
            f->q_head = f->q_head->next;
            f->q_len--;
        }
        if (!f->q_head)
            f->q_tail = NULL;
        pthread_mutex_unlock(&f->q_mu);
        if (!n)
            continue;
        atomic_fetch_add(&f->batched, 1);
        if (send_batch(&wr, b, n) != 0) {
            redisFree(wr.c);
            wr.c = NULL;
            atomic_store(&f->connected, 0);
            if (!down_said)
                fprintf(stderr, "tokenwatch: fleet: connection to Redis at %s lost; sightings "
                        "wait for it\n", f->where);
            down_said = 1;
        }
    }
    redisFree(wr.c);
    atomic_store(&f->connected, 0);
    return NULL;
}

/* ---- the subscriber ---- */

/* Every indicator the set names that has not expired, into the local table. */
static void load_stored(struct fleet *f)
{
    char why[256];
    redisContext *c = rconnect(f, why, sizeof(why));
    if (!c)
        return;
    redisReply *set = redisCommand(c, "ZRANGEBYSCORE %s %lld +inf LIMIT 0 %u", INDICATORS,
                                   (long long)time(NULL), f->ind_cap);
    if (set && set->type == REDIS_REPLY_ARRAY) {
        size_t n = 0;
        for (size_t i = 0; i < set->elements; i++) {
            const redisReply *m = set->element[i];
            if (m->type != REDIS_REPLY_STRING || m->len != 64)
                continue;
            redisAppendCommand(c, "GET " KEY_PREFIX "{%s}:indicator", m->str);
            redisAppendCommand(c, "TTL " KEY_PREFIX "{%s}:indicator", m->str);
            n++;
        }
        for (size_t i = 0; i < n; i++) {
            redisReply *v = NULL, *t = NULL;
            if (redisGetReply(c, (void **)&v) != REDIS_OK ||
                redisGetReply(c, (void **)&t) != REDIS_OK) {
                freeReplyObject(v);
                break;
            }
            if (v->type == REDIS_REPLY_STRING && t->type == REDIS_REPLY_INTEGER && t->integer > 0)
                fleet_learn(f, v->str, v->len, t->integer);
            freeReplyObject(v);
            freeReplyObject(t);
        }
    }
    freeReplyObject(set);
    redisFree(c);
}

int fleet_sub_connect(struct fleet *f, char *why, size_t n)
{
    redisContext *c = rconnect(f, why, n);
    if (!c)
        return -1;
    redisReply *r = redisCommand(c, "SUBSCRIBE %s", CHANNEL);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        snprintf(why, n, "SUBSCRIBE: %s", r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
        freeReplyObject(r);
        redisFree(c);
        return -1;
    }
    freeReplyObject(r);
    load_stored(f); /* after subscribing: what is published meanwhile waits in the socket */
    f->sub_ctx = c;
    return 0;
}

void fleet_sub_free(struct fleet *f)
{
    redisFree(f->sub_ctx);
    f->sub_ctx = NULL;
}

static void handle_message(struct fleet *f, const redisReply *m)
{
    if (m->type != REDIS_REPLY_ARRAY || m->elements != 3 ||
        m->element[0]->type != REDIS_REPLY_STRING || strcmp(m->element[0]->str, "message") ||
        m->element[2]->type != REDIS_REPLY_STRING)
        return;
    fleet_learn(f, m->element[2]->str, m->element[2]->len, f->window);
}

void *fleet_sub_main(void *arg)
{
    struct fleet *f = arg;
    block_sigpipe();
    unsigned backoff = BACKOFF_MIN_MS;
    while (!atomic_load(&f->stop)) {
        redisContext *c = f->sub_ctx;
        if (!c) {
            char why[256];
            if (fleet_sub_connect(f, why, sizeof(why)) != 0) {
                struct pollfd w = {.fd = f->wake[0], .events = POLLIN};
                poll(&w, 1, (int)backoff); /* fleet_free's byte ends it early */
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
                continue;
            }
            backoff = BACKOFF_MIN_MS;
            continue;
        }
        void *rep = NULL;
        if (redisGetReplyFromReader(c, &rep) != REDIS_OK) {
            fleet_sub_free(f);
            continue;
        }
        if (rep) {
            handle_message(f, rep);
            freeReplyObject(rep);
            continue;
        }
        struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN}, {.fd = f->wake[0], .events = POLLIN}};
        int pr = poll(p, 2, 1000);
        if (pr > 0 && p[0].revents && redisBufferRead(c) != REDIS_OK)
            fleet_sub_free(f);
        else if (pr < 0 && errno != EINTR)
            fleet_sub_free(f);
    }
    return NULL;
}
