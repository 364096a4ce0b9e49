/* output_redis.c — the Redis EVE sink (filetype redis), as Suricata's redis output.
 *
 * Pipeline: eve ─► output ─► [queue ─► writer thread (output_async.c) ─► this sink ─► Redis].
 * Runs on the writer thread only; never on the packet path, so blocking here is allowed (the
 * queue in front absorbs it, then drops and counts).
 *
 * Modes (outputs.eve.redis.mode, Suricata's names): list / lpush = `LPUSH key record`, rpush =
 * `RPUSH key record`, channel / publish = `PUBLISH key record`. One command per record, the key and
 * the record passed with hiredis' binary-safe %b (RESP bulk strings, so a record is never split
 * or reinterpreted whatever bytes it holds). The record is sent without a trailing newline, as
 * Suricata does.
 *
 * Failures, and what the writer thread does with them (sink.h):
 *   - cannot connect / connection lost: -1; the record stays queued and is sent again after a
 *     reconnect with backoff. A record whose command reached Redis but whose reply was lost may
 *     therefore be stored twice (at least once, as any client without transactions).
 *   - a server that is connected but does not answer (stopped, swamped) within REDIS_STALL_MS:
 *     1, stalled; the connection and the command in flight are kept and its reply awaited on
 *     the next call, so a stall never duplicates a record. If the run ends first, a command
 *     that went out whole counts as written (abandon), one cut short as dropped.
 *   - a transient server state (-LOADING after a restart, -BUSY script, -TRYAGAIN, -MASTERDOWN):
 *     treated as a lost connection (-1), so the record waits instead of being dropped.
 *   - any other error reply (-WRONGTYPE: the key holds a non-list, -NOAUTH, -OOM ...): the record
 *     is dropped (send returns 0) and counted by ops->errors (stats.eve); the first such
 *     reply is reported on stderr once (the reply names the command, never the record).
 *   - SIGPIPE is blocked in the thread calling send (the writer thread blocks it as well), so a
 *     server gone between two records gives EPIPE (-1), never a dead sensor.
 *
 * Rate (test_output_redis, loopback, 320-byte records, 2 cores): send is one round trip per
 * record, latency-bound: 65-85k records/s idle, down to ~7k/s on a loaded box (redis-benchmark
 * -P 1 measures the same); sink_redis_send_batch (batches of 256, one round trip each): ~550k/s.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <hiredis/hiredis.h>

#include "config.h"
#include "sink.h"

#define REDIS_CONNECT_TIMEOUT_S 1
#define REDIS_REPLY_TIMEOUT_S 5
/* How long one send waits for the socket before saying the server is stalled (returns 1). */
#define REDIS_STALL_MS 1000

struct redis_sink {
    char *host;
    int port;
    const char *cmd;     /* LPUSH, RPUSH or PUBLISH */
    char *key;
    size_t keylen;
    redisContext *c;     /* NULL when not connected */
    uint64_t sent;       /* commands Redis answered without an error */
    _Atomic uint64_t errors; /* records dropped on an error reply; read by the stats thread */
    int error_reported;  /* the first error reply went to stderr */
    int pending;         /* a command is in flight for the head record (hiredis holds it) */
    int written;         /* ... and went out whole: only its reply is awaited */
};

/* Not in sink_ops (yet): commands Redis accepted (for tests), and pipelined sending. */
uint64_t sink_redis_sent(const struct sink *k);
int sink_redis_send_batch(struct sink *k, const struct iovec *recs, size_t n, size_t *done);

static const char *redis_command(int mode)
{
    switch (mode) {
    case EVE_REDIS_LIST:
    case EVE_REDIS_LPUSH:
        return "LPUSH";
    case EVE_REDIS_RPUSH:
        return "RPUSH";
    case EVE_REDIS_CHANNEL:
    case EVE_REDIS_PUBLISH:
        return "PUBLISH";
    default:
        return NULL;
    }
}

static void redis_free_priv(struct redis_sink *r)
{
    if (!r)
        return;
    if (r->c)
        redisFree(r->c);
    free(r->host);
    free(r->key);
    free(r);
}

static int redis_init(struct sink *k, const struct eve_output_cfg *cfg, char *err, size_t errlen)
{
    const char *cmd = redis_command(cfg->redis_mode);
    if (!cmd) {
        snprintf(err, errlen, "outputs.eve.redis.mode: unknown mode %d", cfg->redis_mode);
        return -1;
    }
    if (cfg->redis_port < 1 || cfg->redis_port > 65535) {
        snprintf(err, errlen, "outputs.eve.redis.port: %d is not a port", cfg->redis_port);
        return -1;
    }
    const char *key = cfg->redis_key ? cfg->redis_key : "tokenwatch";
    if (!key[0]) {
        snprintf(err, errlen, "outputs.eve.redis.key: empty");
        return -1;
    }
    struct redis_sink *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->host = strdup(cfg->redis_server && cfg->redis_server[0] ? cfg->redis_server : "127.0.0.1");
    r->key = strdup(key);
    if (!r->host || !r->key) {
        redis_free_priv(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->keylen = strlen(r->key);
    r->port = cfg->redis_port;
    r->cmd = cmd;
    k->priv = r;
    return 0;
}

static void redis_disconnect(struct sink *k)
{
    struct redis_sink *r = k->priv;
    if (r && r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
    if (r)
        r->pending = r->written = 0;
}

static int redis_connect(struct sink *k, char *err, size_t errlen)
{
    struct redis_sink *r = k->priv;
    redis_disconnect(k);
    struct timeval tv = {REDIS_CONNECT_TIMEOUT_S, 0};
    redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!c) {
        snprintf(err, errlen, "redis %s:%d: cannot allocate a connection", r->host, r->port);
        return -1;
    }
    if (c->err) {
        snprintf(err, errlen, "redis %s:%d: %s", r->host, r->port, c->errstr);
        redisFree(c);
        return -1;
    }
    /* A stalled server must not hold the writer thread for ever: the reply (and a send into a
     * full socket buffer) times out, which is handled as a lost connection. */
    struct timeval rt = {REDIS_REPLY_TIMEOUT_S, 0};
    if (redisSetTimeout(c, rt) != REDIS_OK) {
        snprintf(err, errlen, "redis %s:%d: cannot set the reply timeout: %s", r->host, r->port,
                 c->errstr[0] ? c->errstr : strerror(errno));
        redisFree(c);
        return -1;
    }
    r->c = c;
    return 0;
}

/* An error reply that reflects a passing server state, not this record: retry it later. */
static int transient_error(const char *s, size_t n)
{
    static const char *const prefixes[] = {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t pl = strlen(prefixes[i]);
        if (n >= pl && memcmp(s, prefixes[i], pl) == 0 && (n == pl || s[pl] == ' '))
            return 1;
    }
    return 0;
}

/* hiredis writes with write(2): a server gone between two records would raise SIGPIPE and kill
 * the sensor. Blocked in the calling (writer) thread, the write fails with EPIPE instead; a
 * thread-directed SIGPIPE left pending while blocked is never delivered. */
static void block_sigpipe(void)
{
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
}

/* Judges one reply: 0 stored or dropped with an error counted, -1 retry (transient). Frees it. */
static int redis_judge(struct redis_sink *r, redisReply *rep)
{
    int rc = 0;
    if (rep->type == REDIS_REPLY_ERROR) {
        const char *s = rep->str ? rep->str : "";
        size_t n = rep->str ? rep->len : 0;
        if (transient_error(s, n)) {
            rc = -1;
        } else {
            atomic_fetch_add_explicit(&r->errors, 1, memory_order_relaxed);
            if (!r->error_reported) {
                r->error_reported = 1;
                fprintf(stderr, "tokenwatch: redis %s:%d: %s %s: %.*s (record dropped; further "
                        "errors only counted)\n", r->host, r->port, r->cmd, r->key,
                        (int)(n > 200 ? 200 : n), s);
            }
        }
    } else {
        r->sent++;
    }
    freeReplyObject(rep);
    return rc;
}

/* Waits up to REDIS_STALL_MS for fd to be ready for ev: 1 ready (or an error to read), 0 not. */
static int wait_fd(int fd, short ev)
{
    struct pollfd p = {.fd = fd, .events = ev};
    int n;
    do
        n = poll(&p, 1, REDIS_STALL_MS);
    while (n < 0 && errno == EINTR);
    return n != 0;
}

/* A reason for a lost connection, from the context's error. */
static int redis_lost(struct sink *k, struct redis_sink *r)
{
    snprintf(k->why, sizeof(k->why), "connection lost (%s); reconnecting, the record is sent again",
             r->c->errstr[0] ? r->c->errstr : "EOF");
    r->pending = 0;
    return -1;
}

/* One record = one command. The command is written and its reply read in steps that never block
 * longer than REDIS_STALL_MS: a server that is connected but not answering (stopped, swamped)
 * gets 1 (stalled: the connection and the command in flight are kept, the writer offers the
 * record again after a pause and we go on waiting for the same reply, so nothing is sent twice);
 * a connection that breaks gets -1 (the record is sent again after a reconnect). */
static int redis_send(struct sink *k, const char *rec, size_t len)
{
    struct redis_sink *r = k->priv;
    if (!r->c)
        return -1;
    block_sigpipe();
    if (!r->pending) {
        if (redisAppendCommand(r->c, "%s %b %b", r->cmd, r->key, r->keylen, rec, len) != REDIS_OK)
            return redis_lost(k, r);
        r->pending = 1;
        r->written = 0;
    }
    while (!r->written) {
        if (!wait_fd(r->c->fd, POLLOUT)) {
            snprintf(k->why, sizeof(k->why), "the server is not reading (its socket is full)");
            return 1;
        }
        int done = 0;
        if (redisBufferWrite(r->c, &done) != REDIS_OK)
            return redis_lost(k, r);
        r->written = done != 0;
    }
    for (;;) {
        void *rep = NULL;
        if (redisGetReplyFromReader(r->c, &rep) != REDIS_OK)
            return redis_lost(k, r);
        if (rep) {
            r->pending = 0;
            return redis_judge(r, rep);
        }
        if (!wait_fd(r->c->fd, POLLIN)) {
            snprintf(k->why, sizeof(k->why), "no reply in time: the server is stalled");
            return 1;
        }
        if (redisBufferRead(r->c) != REDIS_OK)
            return redis_lost(k, r);
    }
}

/* The writer gives up the record in flight (end of run, server still stalled): a command that
 * went out whole sits in the server's socket and is carried out when the server resumes, so it
 * counts as written (as a record a stream reader's socket took); a command cut short is not. */
static int redis_abandon(struct sink *k)
{
    struct redis_sink *r = k->priv;
    int whole = r && r->pending && r->written;
    if (r)
        r->pending = 0;
    if (whole)
        r->sent++;
    return whole;
}

/* Pipelined sending, for a writer thread that can hand over several queued records at once (not
 * in struct sink_ops yet: proposed as an optional `send_batch`). All n commands are written
 * before the first reply is read, so n records cost one round trip instead of n. *done is set to
 * the number of leading records that are finished (stored, or dropped with an error counted):
 * 0 = all n done; -1 = the connection is lost (or a transient error reply came) and records
 * [*done, n) must be sent again after a reconnect — one of them may already be stored (at least
 * once, as for send). */
int sink_redis_send_batch(struct sink *k, const struct iovec *recs, size_t n, size_t *done)
{
    struct redis_sink *r = k->priv;
    *done = 0;
    if (!r->c)
        return -1;
    block_sigpipe();
    for (size_t i = 0; i < n; i++)
        if (redisAppendCommand(r->c, "%s %b %b", r->cmd, r->key, r->keylen, recs[i].iov_base,
                               recs[i].iov_len) != REDIS_OK)
            return -1; /* out of memory in hiredis: nothing was written yet that counts */
    for (size_t i = 0; i < n; i++) {
        void *v = NULL;
        if (redisGetReply(r->c, &v) != REDIS_OK || !v)
            return -1;
        if (redis_judge(r, v) != 0)
            return -1; /* the connection must be dropped: later replies are not read */
        *done = i + 1;
    }
    return 0;
}

static void redis_destroy(struct sink *k)
{
    redis_free_priv(k->priv);
    k->priv = NULL;
}

/* Records dropped on an error reply (stats.eve errors); 0 before init. Any thread. */
static uint64_t redis_errors(const struct sink *k)
{
    struct redis_sink *r = k->priv;
    return r ? atomic_load_explicit(&r->errors, memory_order_relaxed) : 0;
}

/* Commands Redis accepted. */
uint64_t sink_redis_sent(const struct sink *k)
{
    const struct redis_sink *r = k->priv;
    return r ? r->sent : 0;
}

const struct sink_ops sink_redis_ops = {
    .name = "redis",
    .init = redis_init,
    .connect = redis_connect,
    .send = redis_send,
    .disconnect = redis_disconnect,
    .destroy = redis_destroy,
    .errors = redis_errors,
    .abandon = redis_abandon,
};
