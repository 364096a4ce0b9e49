/* test_output_redis.c — the Redis EVE sink (sensor/output/output_redis.c) against a real redis-server.
 *
 * The test starts `redis-server --port P --save '' --appendonly no --daemonize no` as a child on
 * a free loopback port in a temporary directory (skipped, exit 77, when redis-server is absent),
 * and drives sink_redis_ops directly (no queue, no writer thread): list mode = LPUSH (newest
 * first, as Suricata's `list`), rpush (oldest first), channel mode = PUBLISH seen by a second,
 * SUBSCRIBEd hiredis connection, records passed binary-safe (spaces, CR LF, NUL), a -WRONGTYPE
 * reply dropping the record and counting an error while the connection stays usable, a -LOADING
 * reply (from a fake server) keeping the record for a retry, connect failure while the server is
 * down, a lost connection on send, and a reconnect once the server is back on the same port.
 * test_rate prints records/s into Redis (one round trip per record).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "config.h"
#include "sink.h"

uint64_t sink_redis_sent(const struct sink *k);
int sink_redis_send_batch(struct sink *k, const struct iovec *recs, size_t n, size_t *done);

struct server {
    char bin[256];
    char dir[64];
    int port;
    pid_t pid;
};

static struct server srv;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int find_redis_server(char *out, size_t n)
{
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path ? path : "/usr/bin:/bin");
    for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, n, "%s/redis-server", d);
        if (access(out, X_OK) == 0)
            return 0;
    }
    return -1;
}

/* A loopback port nothing listens on now (bound then released). */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &al) != 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

static redisContext *client(int port)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    if (c)
        redisSetTimeout(c, (struct timeval){5, 0});
    return c;
}

/* Starts redis-server on srv.port and waits until it answers PING (10 s at most). */
static int server_start(void)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", srv.port);
    srv.pid = fork();
    if (srv.pid < 0)
        return -1;
    if (srv.pid == 0) {
        if (chdir(srv.dir) != 0)
            _exit(127);
        int nul = open("/dev/null", O_WRONLY); /* the server's log is not the test's */
        if (nul >= 0) {
            dup2(nul, 1);
            close(nul);
        }
        execl(srv.bin, srv.bin, "--port", port, "--bind", "127.0.0.1", "--save", "",
              "--appendonly", "no", "--daemonize", "no", "--dir", srv.dir, (char *)NULL);
        _exit(127);
    }
    for (double end = now_s() + 10; now_s() < end;) {
        int st;
        if (waitpid(srv.pid, &st, WNOHANG) == srv.pid) {
            srv.pid = 0;
            return -1;
        }
        redisContext *c = client(srv.port);
        if (c) {
            redisReply *r = redisCommand(c, "PING");
            int ok = r && r->type == REDIS_REPLY_STATUS;
            if (r)
                freeReplyObject(r);
            redisFree(c);
            if (ok)
                return 0;
        }
        usleep(10000);
    }
    return -1;
}

static void server_stop(void)
{
    if (srv.pid > 0) {
        kill(srv.pid, SIGKILL);
        waitpid(srv.pid, NULL, 0);
        srv.pid = 0;
    }
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(srv.dir, sizeof(srv.dir), "/tmp/tw-redis-XXXXXX");
    if (!mkdtemp(srv.dir))
        return -1;
    srv.port = free_port();
    if (srv.port <= 0 || server_start() != 0) {
        fprintf(stderr, "cannot start %s on port %d\n", srv.bin, srv.port);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_stop();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", srv.dir);
    if (system(cmd) != 0)
        return -1;
    return 0;
}

static struct eve_output_cfg cfg_for(int mode, char *key, int port)
{
    struct eve_output_cfg c;
    memset(&c, 0, sizeof(c));
    c.filetype = EVE_FT_REDIS;
    c.redis_mode = mode;
    c.redis_key = key;
    c.redis_port = port;
    c.queue_size = 16u << 20;
    return c;
}

static void open_sink(struct sink *k, const struct eve_output_cfg *cfg)
{
    char err[256] = "";
    memset(k, 0, sizeof(*k));
    k->ops = &sink_redis_ops;
    k->cfg = cfg;
    assert_int_equal(k->ops->init(k, cfg, err, sizeof(err)), 0);
    assert_int_equal(k->ops->connect(k, err, sizeof(err)), 0);
}

static void close_sink(struct sink *k)
{
    k->ops->disconnect(k);
    k->ops->destroy(k);
    assert_null(k->priv);
}

static void send_str(struct sink *k, const char *s)
{
    assert_int_equal(k->ops->send(k, s, strlen(s)), 0);
}

/* Asserts LRANGE key 0 -1 == want[0..n-1] (binary compare with lengths). */
static void assert_list(const char *key, const char *const *want, const size_t *wlen, size_t n)
{
    redisContext *c = client(srv.port);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "LRANGE %s 0 -1", key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r->element[i]->type, REDIS_REPLY_STRING);
        assert_int_equal(r->element[i]->len, wlen[i]);
        assert_memory_equal(r->element[i]->str, want[i], wlen[i]);
    }
    freeReplyObject(r);
    redisFree(c);
}

static void test_init_defaults_and_errors(void **state)
{
    (void)state;
    char err[256] = "";
    struct eve_output_cfg cfg = cfg_for(EVE_REDIS_LIST, NULL, srv.port);
    struct sink k = {.ops = &sink_redis_ops, .cfg = &cfg};
    /* server NULL = 127.0.0.1, key NULL = "tokenwatch" */
    assert_int_equal(k.ops->init(&k, &cfg, err, sizeof(err)), 0);
    assert_int_equal(k.ops->connect(&k, err, sizeof(err)), 0);
    const char *rec = "{\"event_type\":\"stats\"}";
    send_str(&k, rec);
    assert_int_equal(sink_redis_sent(&k), 1);
    close_sink(&k);
    size_t len = strlen(rec);
    assert_list("tokenwatch", &rec, &len, 1);

    cfg = cfg_for(17, "k", srv.port);
    assert_int_equal(k.ops->init(&k, &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "outputs.eve.redis.mode: unknown mode 17");
    cfg = cfg_for(EVE_REDIS_LIST, "", srv.port);
    assert_int_equal(k.ops->init(&k, &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "outputs.eve.redis.key: empty");
}

/* list (Suricata's default) and lpush: LPUSH, the newest record first; %b is binary-safe. */
static void test_list_lpush_order(void **state)
{
    (void)state;
    static const char nul_rec[] = "{\"a\":\"x\0y\"}";
    const char *recs[] = {"{\"n\":1}", "{\"n\": 2, \"s\": \"two words\"}", "{\"n\":3}\r\n*1\r\n",
                          nul_rec};
    size_t lens[] = {strlen(recs[0]), strlen(recs[1]), strlen(recs[2]), sizeof(nul_rec) - 1};
    for (int mode = EVE_REDIS_LIST; mode <= EVE_REDIS_LPUSH; mode++) {
        char key[32];
        snprintf(key, sizeof(key), "tw:lpush:%d", mode);
        struct eve_output_cfg cfg = cfg_for(mode, key, srv.port);
        struct sink k;
        open_sink(&k, &cfg);
        for (int i = 0; i < 4; i++)
            assert_int_equal(k.ops->send(&k, recs[i], lens[i]), 0);
        assert_int_equal(sink_redis_sent(&k), 4);
        assert_int_equal(sink_redis_ops.errors(&k), 0);
        close_sink(&k);
        const char *want[] = {recs[3], recs[2], recs[1], recs[0]};
        size_t wl[] = {lens[3], lens[2], lens[1], lens[0]};
        assert_list(key, want, wl, 4);
    }
}

static void test_rpush_order(void **state)
{
    (void)state;
    struct eve_output_cfg cfg = cfg_for(EVE_REDIS_RPUSH, "tw:rpush", srv.port);
    struct sink k;
    open_sink(&k, &cfg);
    const char *recs[] = {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"};
    size_t lens[] = {7, 7, 7};
    for (int i = 0; i < 3; i++)
        send_str(&k, recs[i]);
    close_sink(&k);
    assert_list("tw:rpush", recs, lens, 3);
}

/* channel and publish: PUBLISH, each record one message to a SUBSCRIBEd reader, in order. */
static void test_channel_publish(void **state)
{
    (void)state;
    for (int mode = EVE_REDIS_CHANNEL; mode <= EVE_REDIS_PUBLISH; mode++) {
        char key[32];
        snprintf(key, sizeof(key), "tw:chan:%d", mode);
        redisContext *sub = client(srv.port);
        assert_non_null(sub);
        redisReply *r = redisCommand(sub, "SUBSCRIBE %s", key);
        assert_non_null(r); /* ["subscribe", key, 1]: subscribed before anything is published */
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        assert_int_equal(r->elements, 3);
        assert_string_equal(r->element[0]->str, "subscribe");
        freeReplyObject(r);

        struct eve_output_cfg cfg = cfg_for(mode, key, srv.port);
        struct sink k;
        open_sink(&k, &cfg);
        const char *recs[] = {"{\"event_type\":\"token\"}", "{\"event_type\":\"alert\"}"};
        for (int i = 0; i < 2; i++)
            send_str(&k, recs[i]);
        assert_int_equal(sink_redis_sent(&k), 2);
        close_sink(&k);
        for (int i = 0; i < 2; i++) {
            void *vr = NULL;
            assert_int_equal(redisGetReply(sub, &vr), REDIS_OK);
            r = vr;
            assert_int_equal(r->type, REDIS_REPLY_ARRAY);
            assert_int_equal(r->elements, 3);
            assert_string_equal(r->element[0]->str, "message");
            assert_string_equal(r->element[1]->str, key);
            assert_string_equal(r->element[2]->str, recs[i]);
            freeReplyObject(r);
        }
        redisFree(sub);
        /* nothing was stored as a list */
        redisContext *c = client(srv.port);
        assert_non_null(c);
        r = redisCommand(c, "EXISTS %s", key);
        assert_non_null(r);
        assert_int_equal(r->integer, 0);
        freeReplyObject(r);
        redisFree(c);
    }
}

/* -WRONGTYPE: the record is dropped (send returns 0, not -1), an error is counted, the first
 * reply is reported once, and the same connection carries on. */
static void test_wrongtype_counted(void **state)
{
    (void)state;
    redisContext *c = client(srv.port);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "SET tw:str plain");
    assert_non_null(r);
    freeReplyObject(r);

    struct eve_output_cfg cfg = cfg_for(EVE_REDIS_LIST, "tw:str", srv.port);
    struct sink k;
    open_sink(&k, &cfg);
    send_str(&k, "{\"n\":1}");
    send_str(&k, "{\"n\":2}");
    assert_int_equal(sink_redis_ops.errors(&k), 2);
    assert_int_equal(sink_redis_sent(&k), 0);
    r = redisCommand(c, "DEL tw:str");
    assert_non_null(r);
    freeReplyObject(r);
    send_str(&k, "{\"n\":3}");
    assert_int_equal(sink_redis_ops.errors(&k), 2);
    assert_int_equal(sink_redis_sent(&k), 1);
    close_sink(&k);
    redisFree(c);
    const char *want = "{\"n\":3}";
    size_t wl = 7;
    assert_list("tw:str", &want, &wl, 1);
}

/* A fake server answering every command with one fixed error line. */
struct fake {
    int lfd, port;
    const char *reply;
    pthread_t t;
};

static void *fake_run(void *arg)
{
    struct fake *f = arg;
    int c = accept(f->lfd, NULL, NULL);
    if (c < 0)
        return NULL;
    char buf[4096];
    ssize_t n = read(c, buf, sizeof(buf)); /* one command, small enough for one read */
    if (n > 0 && write(c, f->reply, strlen(f->reply)) < 0)
        n = -1;
    shutdown(c, SHUT_WR);
    while (read(c, buf, sizeof(buf)) > 0) {
    }
    close(c);
    return NULL;
}

static void fake_start(struct fake *f, const char *reply)
{
    f->reply = reply;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->lfd, 1), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->t, NULL, fake_run, f), 0);
}

/* -LOADING (a restarted server reading its dataset) is a passing state: the record is kept
 * (-1, retried after a reconnect), not dropped, and no error is counted. Other errors drop. */
static void test_transient_error_kept(void **state)
{
    (void)state;
    static const char *const replies[] = {"-LOADING Redis is loading the dataset in memory\r\n",
                                           "-BUSY Redis is busy running a script\r\n",
                                           "-LOADINGX not a transient state\r\n"};
    for (int i = 0; i < 3; i++) {
        struct fake f;
        fake_start(&f, replies[i]);
        struct eve_output_cfg cfg = cfg_for(EVE_REDIS_LIST, "tw", f.port);
        struct sink k;
        open_sink(&k, &cfg);
        assert_int_equal(k.ops->send(&k, "{}", 2), i < 2 ? -1 : 0);
        assert_int_equal(sink_redis_ops.errors(&k), i < 2 ? 0 : 1);
        assert_int_equal(sink_redis_sent(&k), 0);
        close_sink(&k);
        pthread_join(f.t, NULL);
        close(f.lfd);
    }
}

/* Server down: connect fails with the reason; a live connection fails on send (-1, the record is
 * kept by the caller); once the server is back on the same port, connect and send work. */
static void test_down_and_back(void **state)
{
    (void)state;
    struct eve_output_cfg cfg = cfg_for(EVE_REDIS_RPUSH, "tw:restart", srv.port);
    struct sink k;
    open_sink(&k, &cfg);
    send_str(&k, "{\"n\":1}");

    server_stop();
    /* The server is gone: the first send may still be written into the socket, but its reply
     * never comes (EOF or reset): -1. */
    assert_int_equal(k.ops->send(&k, "{\"n\":2}", 7), -1);
    k.ops->disconnect(&k);
    char err[256] = "";
    assert_int_equal(k.ops->connect(&k, err, sizeof(err)), -1);
    char want[128];
    snprintf(want, sizeof(want), "redis 127.0.0.1:%d: Connection refused", srv.port);
    assert_string_equal(err, want);
    assert_int_equal(k.ops->send(&k, "{\"n\":2}", 7), -1); /* not connected */

    assert_int_equal(server_start(), 0); /* --save '': the restarted server is empty */
    assert_int_equal(k.ops->connect(&k, err, sizeof(err)), 0);
    send_str(&k, "{\"n\":2}");
    send_str(&k, "{\"n\":3}");
    assert_int_equal(sink_redis_sent(&k), 3);
    assert_int_equal(sink_redis_ops.errors(&k), 0);
    close_sink(&k);
    const char *recs[] = {"{\"n\":2}", "{\"n\":3}"};
    size_t lens[] = {7, 7};
    assert_list("tw:restart", recs, lens, 2);
}

/* Records/s into Redis, one LPUSH and its reply per record (~300-byte EVE records). */
static void test_rate(void **state)
{
    (void)state;
    struct eve_output_cfg cfg = cfg_for(EVE_REDIS_LIST, "tw:rate", srv.port);
    struct sink k;
    open_sink(&k, &cfg);
    char rec[320];
    memset(rec, 'x', sizeof(rec));
    int n = 20000;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        int l = snprintf(rec, sizeof(rec), "{\"event_type\":\"token\",\"n\":%d,\"pad\":\"", i);
        memset(rec + l, 'p', sizeof(rec) - (size_t)l - 2);
        memcpy(rec + sizeof(rec) - 2, "\"}", 2);
        assert_int_equal(k.ops->send(&k, rec, sizeof(rec)), 0);
    }
    double dt = now_s() - t0;
    assert_int_equal(sink_redis_sent(&k), (uint64_t)n);
    close_sink(&k);
    printf("redis sink: %d records of %zu bytes in %.3f s = %.0f records/s\n", n, sizeof(rec), dt,
           n / dt);
    redisContext *c = client(srv.port);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "LLEN tw:rate");
    assert_non_null(r);
    assert_int_equal(r->integer, n);
    freeReplyObject(r);
    redisFree(c);
}

/* Pipelined batches: order kept, an error reply inside a batch counted without stopping it,
 * records/s with batches of 256, and a lost connection reporting how many records are done. */
static void test_batch(void **state)
{
    (void)state;
    struct eve_output_cfg cfg = cfg_for(EVE_REDIS_RPUSH, "tw:batch", srv.port);
    struct sink k;
    open_sink(&k, &cfg);
    struct iovec iv[3] = {{"{\"n\":1}", 7}, {"{\"n\":2}", 7}, {"{\"n\":3}", 7}};
    size_t done = 99;
    assert_int_equal(sink_redis_send_batch(&k, iv, 3, &done), 0);
    assert_int_equal(done, 3);
    const char *recs[] = {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"};
    size_t lens[] = {7, 7, 7};
    assert_list("tw:batch", recs, lens, 3);
    close_sink(&k);

    /* every command of the batch meets a string key: each counted, the batch still completes */
    redisContext *c = client(srv.port);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "SET tw:batchstr x");
    freeReplyObject(r);
    redisFree(c);
    struct eve_output_cfg cfg2 = cfg_for(EVE_REDIS_RPUSH, "tw:batchstr", srv.port);
    open_sink(&k, &cfg2);
    assert_int_equal(sink_redis_send_batch(&k, iv, 3, &done), 0);
    assert_int_equal(done, 3);
    assert_int_equal(sink_redis_ops.errors(&k), 3);
    close_sink(&k);

    /* rate: 20000 records of 320 bytes in batches of 256 */
    struct eve_output_cfg cfg3 = cfg_for(EVE_REDIS_LIST, "tw:batchrate", srv.port);
    open_sink(&k, &cfg3);
    enum { N = 20000, B = 256, L = 320 };
    static char bufs[B][L];
    struct iovec bv[B];
    double t0 = now_s();
    for (int i = 0; i < N; i += B) {
        int m = N - i < B ? N - i : B;
        for (int j = 0; j < m; j++) {
            int l = snprintf(bufs[j], L, "{\"event_type\":\"token\",\"n\":%d,\"pad\":\"", i + j);
            memset(bufs[j] + l, 'p', (size_t)(L - l - 2));
            memcpy(bufs[j] + L - 2, "\"}", 2);
            bv[j] = (struct iovec){bufs[j], L};
        }
        assert_int_equal(sink_redis_send_batch(&k, bv, (size_t)m, &done), 0);
        assert_int_equal(done, (size_t)m);
    }
    double dt = now_s() - t0;
    assert_int_equal(sink_redis_sent(&k), N);
    printf("redis sink, batches of %d: %d records of %d bytes in %.3f s = %.0f records/s\n", B, N,
           L, dt, N / dt);
    c = client(srv.port);
    assert_non_null(c);
    r = redisCommand(c, "LLEN tw:batchrate");
    assert_int_equal(r->integer, N);
    freeReplyObject(r);
    redisFree(c);

    /* the server goes away: -1, and done counts only records whose reply was read (none) */
    server_stop();
    assert_int_equal(sink_redis_send_batch(&k, iv, 3, &done), -1);
    assert_int_equal(done, 0);
    close_sink(&k);
    assert_int_equal(server_start(), 0);
}

int main(void)
{
    if (find_redis_server(srv.bin, sizeof(srv.bin)) != 0) {
        printf("skipped: redis-server not found in PATH\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_defaults_and_errors),
        cmocka_unit_test(test_list_lpush_order),
        cmocka_unit_test(test_rpush_order),
        cmocka_unit_test(test_channel_publish),
        cmocka_unit_test(test_wrongtype_counted),
        cmocka_unit_test(test_transient_error_kept),
        cmocka_unit_test(test_down_and_back),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_batch),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
