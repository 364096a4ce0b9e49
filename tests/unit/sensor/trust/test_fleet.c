/* test_fleet.c — unit tests for sensor/trust/fleet.c and fleet_redis.c (fleet.h), against a
 * real redis-server the test starts on a free loopback port (skipped, 77, without one).
 *
 * Local side: client networks (IPv4 /24 and /20, IPv6 /64, as text and masked bytes); the
 * sighting cache (once per window per token and network, again after the window either way,
 * publish apart from sightings); fleet.unverified-rate (per second of packet time, counted); indicator strings (hostile ones refused; the sensor's own never
 * returned; a full table drops its oldest, lookups stay exact).
 * Redis absent: requests come back dropped within the settle (no 3 s wait), counted exactly; a
 * full queue refuses and counts.
 * Redis present: three fleets (sensors a, b, c) sight one token from three networks: the answers
 * count 1, 2, 3, name the sensors sorted and the first sighting (a's, its network and time);
 * a sighting from a network already counted does not add one; two threads racing on a new
 * token from different networks get 1 and 2, never the same count; a published indicator is in
 * a fleet started afterwards (start-up load) and reaches a fleet already running (channel);
 * every key has an expiry; stats add up (sent + errors + dropped = sightings + published).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "config.h"
#include "fleet.h"
#include "fleet_int.h" /* fleet_learn */
#include "policy.h"
#include "timewait.h"

#define T0 INT64_C(1685620800)

static pid_t redis_pid;
static int redis_port;

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

static redisContext *rc(void)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    return c;
}

static int start_redis(void)
{
    if (access("/usr/bin/redis-server", X_OK) != 0)
        return -1;
    redis_port = free_port();
    char port[16];
    snprintf(port, sizeof(port), "%d", redis_port);
    redis_pid = fork();
    if (redis_pid == 0) {
        freopen("/dev/null", "w", stdout);
        execl("/usr/bin/redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
              "--save", "", "--appendonly", "no", "--dir", "/tmp", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        redisContext *c = rc();
        if (c) {
            redisReply *r = redisCommand(c, "PING");
            int ok = r && r->type == REDIS_REPLY_STATUS;
            freeReplyObject(r);
            redisFree(c);
            if (ok)
                return 0;
        }
        timewait_sleep_ms(20);
    }
    return -1;
}

static void stop_redis(void)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
        redis_pid = 0;
    }
}

static void flushall(void)
{
    redisContext *c = rc();
    assert_non_null(c);
    freeReplyObject(redisCommand(c, "FLUSHALL"));
    redisFree(c);
}

static void cfg_of(struct config *c, const char *name, int port, uint64_t memcap)
{
    config_defaults(c);
    c->sensor_name = strdup(name);
    c->fleet_server = strdup("127.0.0.1");
    c->fleet_port = port;
    if (memcap)
        c->fleet_memcap = memcap;
}

static struct fleet *fleet_of(struct config *c, const char *name, int port, uint64_t memcap)
{
    cfg_of(c, name, port, memcap);
    char err[256];
    struct fleet *f = fleet_new(c, 2, err, sizeof(err));
    if (!f)
        fail_msg("fleet_new: %s", err);
    return f;
}

static void addr4(uint8_t a[16], uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = x, a[13] = y, a[14] = z, a[15] = w;
}

static void sha_of(uint8_t sha[32], uint32_t i)
{
    memset(sha, 0x5a, 32);
    memcpy(sha, &i, sizeof(i));
}

/* One sighting, waited for: its answer (the caller frees it). */
static struct fleet_req *sight(struct fleet *f, const uint8_t sha[32], const uint8_t addr[16],
                               int64_t now)
{
    struct fleet_req *r = fleet_req_new();
    r->kind = FLEET_SIGHTING;
    r->worker = 0;
    memcpy(r->sha, sha, 32);
    uint8_t net[16];
    fleet_network(f, addr, net, r->network);
    r->pkt_s = now;
    r->ttl = 3600;
    assert_int_equal(fleet_push(f, r), 0);
    fleet_settle(f, 0, timewait_now_ns() + 5000000000ull);
    struct fleet_req *got = fleet_results(f, 0);
    assert_ptr_equal(got, r);
    assert_null(got->next);
    return got;
}

/* ---- local side ---- */

static void test_networks(void **state)
{
    (void)state;
    struct config c;
    struct fleet *f = fleet_of(&c, "n", 1, 0); /* port 1: nobody; only the local side is used */
    uint8_t a[16], net[16];
    char s[FLEET_NET_MAX];
    addr4(a, 10, 1, 2, 3);
    fleet_network(f, a, net, s);
    assert_string_equal(s, "10.1.2.0/24");
    assert_int_equal(net[15], 0);
    assert_int_equal(net[14], 2);
    fleet_free(f);
    config_free(&c);

    cfg_of(&c, "n", 1, 0);
    c.fleet_networks = 20;
    c.fleet_networks_v6 = 48;
    char err[128];
    f = fleet_new(&c, 1, err, sizeof(err));
    assert_non_null(f);
    addr4(a, 192, 168, 31, 200);
    fleet_network(f, a, net, s);
    assert_string_equal(s, "192.168.16.0/20");
    uint8_t v6[16];
    inet_pton(AF_INET6, "2001:db8:aaaa:bbbb:cccc::1", v6);
    fleet_network(f, v6, net, s);
    assert_string_equal(s, "2001:db8:aaaa::/48");
    fleet_free(f);
    config_free(&c);
}

static void test_sighting_cache(void **state)
{
    (void)state;
    struct config c;
    struct fleet *f = fleet_of(&c, "n", 1, 0);
    uint8_t sha[32], net1[16], net2[16];
    sha_of(sha, 1);
    memset(net1, 0, 16);
    memset(net2, 0, 16);
    net2[15] = 1;
    int64_t w = c.fleet_window;
    int64_t sent = 0;
    assert_true(fleet_sighting_due(f, sha, net1, T0, &sent));
    assert_int_equal(sent, T0);
    assert_false(fleet_sighting_due(f, sha, net1, T0 + 10, &sent));
    assert_int_equal(sent, T0); /* when it went out */
    assert_false(fleet_sighting_due(f, sha, net1, T0 + w, NULL)); /* the edge: still sent */
    assert_true(fleet_sighting_due(f, sha, net2, T0, NULL));      /* another network */
    assert_true(fleet_sighting_due(f, sha, net1, T0 + w + 1, NULL));
    assert_false(fleet_sighting_due(f, sha, net1, T0 + w + 2, NULL));
    assert_true(fleet_sighting_due(f, sha, net1, T0 - w - 10, NULL)); /* time stepped back far */
    assert_true(fleet_sighting_due(f, sha, net1, T0 - w - 20, NULL)); /* earlier than sent: */
    assert_false(fleet_sighting_due(f, sha, net1, T0 - w - 15, NULL)); /* again, first stays */
    /* publishing is remembered apart from sightings */
    assert_true(fleet_publish_due(f, sha, T0));
    assert_false(fleet_publish_due(f, sha, T0 + 1));
    assert_false(fleet_sighting_due(f, sha, net2, T0 + 1, NULL));
    fleet_free(f);
    config_free(&c);

    /* At the default memcap, 10,000 pairs go out once each, none twice within the window
     * (sets of eight: a resend needs nine pairs in one set). */
    f = fleet_of(&c, "n", 1, 0);
    for (int round = 0; round < 2; round++)
        for (uint32_t i = 0; i < 10000; i++) {
            sha_of(sha, i / 4);
            memset(net1, 0, 16);
            net1[15] = (uint8_t)(i % 4);
            if (fleet_sighting_due(f, sha, net1, T0 + round, NULL) != !round)
                fail_msg("pair %u, round %d", i, round);
        }
    fleet_free(f);
    config_free(&c);
}

/* fleet.unverified-rate: so many a second of packet time, shared, the rest counted. */
static void test_unverified_rate(void **state)
{
    (void)state;
    struct config c;
    cfg_of(&c, "n", 1, 0);
    c.fleet_unverified_rate = 50;
    char err[128];
    struct fleet *f = fleet_new(&c, 2, err, sizeof(err));
    assert_non_null(f);
    int ok = 0;
    for (int i = 0; i < 80; i++)
        ok += fleet_unverified_allowed(f, T0);
    assert_int_equal(ok, 50);
    assert_true(fleet_unverified_allowed(f, T0 + 1)); /* the next second */
    struct fleet_stats st;
    fleet_get_stats(f, &st);
    assert_int_equal(st.limited, 30);
    fleet_free(f);
    config_free(&c);
    cfg_of(&c, "n", 1, 0);
    c.fleet_unverified_rate = 0; /* none */
    f = fleet_new(&c, 1, err, sizeof(err));
    assert_false(fleet_unverified_allowed(f, T0));
    fleet_free(f);
    config_free(&c);
}

static void test_indicator_strings(void **state)
{
    (void)state;
    struct config c;
    struct fleet *f = fleet_of(&c, "me", 1, 64 << 10);
    const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char buf[600];
    static const char *const bad[] = {
        "", "short 1 signature_invalid x",
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg 1 signature_invalid x",
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 1 no_such_code x",
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff x signature_invalid x",
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 1 signature_invalid",
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 1 signature_invalid ",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(fleet_learn(f, bad[i], strlen(bad[i]), 60), -1);
    memset(buf, 'a', sizeof(buf));
    assert_int_equal(fleet_learn(f, buf, sizeof(buf), 60), -1); /* too long */
    uint8_t sha[32];
    for (int i = 0; i < 32; i++)
        sha[i] = (uint8_t)((i % 16) * 0x11);
    struct fleet_indicator in;
    assert_false(fleet_indicator(f, 0, sha, &in));
    snprintf(buf, sizeof(buf), "%s 1685620800 key_revoked,signature_invalid site a", hex);
    assert_int_equal(fleet_learn(f, buf, strlen(buf), 60), 0);
    assert_true(fleet_indicator(f, 0, sha, &in));
    assert_string_equal(in.sensor, "site a");
    assert_int_equal(in.findings, (1u << F_KEY_REVOKED) | (1u << F_SIGNATURE_INVALID));
    assert_int_equal(in.ts, T0);
    /* this sensor's own indicator is never returned */
    sha[0] = 0x01;
    snprintf(buf, sizeof(buf), "01%s 1 alg_none me", hex + 2);
    assert_int_equal(fleet_learn(f, buf, strlen(buf), 60), 0);
    assert_false(fleet_indicator(f, 0, sha, &in));
    struct fleet_stats st;
    fleet_get_stats(f, &st);
    assert_int_equal(st.indicators, 2);
    assert_int_equal(st.lookups, 3);
    fleet_free(f);
    config_free(&c);
}

static void test_indicator_table_full(void **state)
{
    (void)state;
    struct config c;
    struct fleet *f = fleet_of(&c, "me", 1, 64 << 10); /* the smallest memcap */
    char buf[200];
    uint32_t n = 5000;
    for (uint32_t i = 0; i < n; i++) {
        snprintf(buf, sizeof(buf),
                 "%08x00000000000000000000000000000000000000000000000000000000 7 alg_none x", i);
        assert_int_equal(fleet_learn(f, buf, strlen(buf), 60), 0);
    }
    struct fleet_stats st;
    fleet_get_stats(f, &st);
    assert_int_equal(st.indicators, n);
    /* the newest are found, the oldest gone, and the count of found ones is the table's */
    uint32_t found = 0, newest_found = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t sha[32] = {0};
        sha[0] = (uint8_t)(i >> 24), sha[1] = (uint8_t)(i >> 16), sha[2] = (uint8_t)(i >> 8);
        sha[3] = (uint8_t)i;
        struct fleet_indicator in;
        int hit = fleet_indicator(f, 0, sha, &in);
        found += (uint32_t)hit;
        if (i >= n - 100)
            newest_found += (uint32_t)hit;
        if (i < 10)
            assert_false(hit);
    }
    assert_int_equal(newest_found, 100);
    assert_true(found > 100 && found < n);
    fleet_free(f);
    config_free(&c);
}

/* ---- Redis absent ---- */

static void test_absent(void **state)
{
    (void)state;
    struct config c;
    int port = free_port();
    cfg_of(&c, "lonely", port, 0);
    c.fleet_queue = 16;
    char err[128];
    struct fleet *f = fleet_new(&c, 1, err, sizeof(err));
    assert_non_null(f);
    int refused = 0;
    for (uint32_t i = 0; i < 20; i++) {
        struct fleet_req *r = fleet_req_new();
        r->kind = FLEET_SIGHTING;
        sha_of(r->sha, i);
        snprintf(r->network, sizeof(r->network), "10.0.0.0/24");
        r->pkt_s = T0;
        r->ttl = 60;
        if (fleet_push(f, r) != 0) {
            assert_int_equal(r->status, FLEET_DROPPED);
            fleet_req_free(r);
            refused++;
        }
    }
    assert_int_equal(refused, 4);
    uint64_t t0 = timewait_now_ns();
    fleet_settle(f, 0, t0 + 3000000000ull);
    assert_true(timewait_now_ns() - t0 < 2500000000ull); /* not the whole deadline */
    int back = 0;
    for (struct fleet_req *r = fleet_results(f, 0), *n; r; r = n) {
        n = r->next;
        assert_int_equal(r->status, FLEET_DROPPED);
        fleet_req_free(r);
        back++;
    }
    assert_int_equal(back, 16);
    struct fleet_stats st;
    fleet_get_stats(f, &st);
    assert_int_equal(st.sightings, 20);
    assert_int_equal(st.dropped, 20);
    assert_int_equal(st.sent, 0);
    fleet_free(f);
    config_free(&c);
}

/* ---- Redis present ---- */

static void test_three_sensors(void **state)
{
    (void)state;
    flushall();
    struct config ca, cb, cc;
    struct fleet *fa = fleet_of(&ca, "site-c", redis_port, 0); /* names not in arrival order */
    struct fleet *fb = fleet_of(&cb, "site-a", redis_port, 0);
    struct fleet *fc = fleet_of(&cc, "site-b", redis_port, 0);
    uint8_t sha[32], a1[16], a2[16], a3[16], a1b[16];
    sha_of(sha, 77);
    addr4(a1, 10, 1, 0, 5);
    addr4(a1b, 10, 1, 0, 99);
    addr4(a2, 10, 2, 0, 5);
    addr4(a3, 10, 3, 0, 5);
    struct fleet_req *r = sight(fb, sha, a1, T0 + 5); /* site-a first, at T0 + 5 */
    assert_int_equal(r->status, FLEET_DONE);
    assert_int_equal(r->networks, 1);
    assert_int_equal(r->nsensors, 1);
    fleet_req_free(r);
    r = sight(fa, sha, a2, T0 + 60);
    assert_int_equal(r->networks, 2);
    fleet_req_free(r);
    r = sight(fa, sha, a1b, T0 + 61); /* 10.1.0.0/24 again, from site-c: no new network */
    assert_int_equal(r->networks, 2);
    assert_int_equal(r->nsensors, 2);
    fleet_req_free(r);
    r = sight(fc, sha, a3, T0 + 120);
    assert_int_equal(r->status, FLEET_DONE);
    assert_int_equal(r->networks, 3);
    assert_int_equal(r->nsensors, 3);
    assert_string_equal(r->sensors, "site-a\nsite-b\nsite-c");
    assert_string_equal(r->first_sensor, "site-a");
    assert_string_equal(r->first_network, "10.1.0.0/24");
    assert_int_equal(r->first_s, T0 + 5);
    assert_int_equal(r->indicator, 0);
    fleet_req_free(r);
    /* outside the window (packet time): the old sightings no longer count */
    r = sight(fc, sha, a3, T0 + 120 + 3601 + 120);
    assert_int_equal(r->networks, 1);
    assert_string_equal(r->first_sensor, "site-b");
    fleet_req_free(r);
    /* every key expires; no key names anything but the digest */
    redisContext *c = rc();
    redisReply *keys = redisCommand(c, "KEYS *");
    assert_true(keys->elements >= 1);
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *t = redisCommand(c, "TTL %s", keys->element[i]->str);
        assert_true(t->integer > 0);
        freeReplyObject(t);
        assert_non_null(strstr(keys->element[i]->str, "tokenwatch:"));
    }
    freeReplyObject(keys);
    redisFree(c);
    struct fleet_stats st;
    fleet_get_stats(fc, &st);
    assert_int_equal(st.sightings, 2);
    assert_int_equal(st.sent, 2);
    assert_int_equal(st.sent + st.errors + st.dropped, st.sightings + st.published);
    fleet_free(fa);
    fleet_free(fb);
    fleet_free(fc);
    config_free(&ca);
    config_free(&cb);
    config_free(&cc);
}

struct racer {
    struct fleet *f;
    uint8_t addr[16];
    uint32_t token;
    uint32_t networks;
};

static void *race(void *arg)
{
    struct racer *x = arg;
    uint8_t sha[32];
    sha_of(sha, x->token);
    struct fleet_req *r = sight(x->f, sha, x->addr, T0);
    x->networks = r->networks;
    fleet_req_free(r);
    return NULL;
}

static void test_race(void **state)
{
    (void)state;
    flushall();
    struct config c1, c2;
    struct fleet *f1 = fleet_of(&c1, "r1", redis_port, 0);
    struct fleet *f2 = fleet_of(&c2, "r2", redis_port, 0);
    for (uint32_t t = 1000; t < 1050; t++) {
        struct racer x1 = {.f = f1, .token = t}, x2 = {.f = f2, .token = t};
        addr4(x1.addr, 172, 16, 1, 1);
        addr4(x2.addr, 172, 16, 2, 1);
        pthread_t th1, th2;
        pthread_create(&th1, NULL, race, &x1);
        pthread_create(&th2, NULL, race, &x2);
        pthread_join(th1, NULL);
        pthread_join(th2, NULL);
        assert_true((x1.networks == 1 && x2.networks == 2) ||
                    (x1.networks == 2 && x2.networks == 1));
    }
    fleet_free(f1);
    fleet_free(f2);
    config_free(&c1);
    config_free(&c2);
}

static void publish(struct fleet *f, const uint8_t sha[32], uint32_t findings)
{
    struct fleet_req *r = fleet_req_new();
    r->kind = FLEET_PUBLISH;
    memcpy(r->sha, sha, 32);
    r->pkt_s = T0;
    r->ttl = 600;
    r->findings = findings;
    assert_int_equal(fleet_push(f, r), 0);
    fleet_settle(f, 0, timewait_now_ns() + 5000000000ull);
    struct fleet_req *got = fleet_results(f, 0);
    assert_ptr_equal(got, r);
    assert_int_equal(got->status, FLEET_DONE);
    fleet_req_free(got);
}

static void test_indicators(void **state)
{
    (void)state;
    flushall();
    struct config ca, cb, cc;
    struct fleet *fa = fleet_of(&ca, "judge", redis_port, 0);
    struct fleet *fb = fleet_of(&cb, "listener", redis_port, 0); /* running before */
    uint8_t sha[32];
    sha_of(sha, 4242);
    publish(fa, sha, 1u << F_SIGNATURE_INVALID);
    struct fleet_indicator in;
    int got = 0;
    for (int i = 0; i < 250 && !got; i++) { /* the channel: within 5 s */
        got = fleet_indicator(fb, 0, sha, &in);
        if (!got)
            timewait_sleep_ms(20);
    }
    assert_true(got);
    assert_string_equal(in.sensor, "judge");
    assert_int_equal(in.findings, 1u << F_SIGNATURE_INVALID);
    assert_false(fleet_indicator(fa, 0, sha, &in)); /* its own */
    struct fleet *fc = fleet_of(&cc, "latecomer", redis_port, 0); /* loads at start */
    assert_true(fleet_indicator(fc, 0, sha, &in));
    assert_string_equal(in.sensor, "judge");
    /* a sighting's answer says so too */
    uint8_t a[16];
    addr4(a, 10, 9, 9, 9);
    struct fleet_req *r = sight(fc, sha, a, T0);
    assert_int_equal(r->indicator, 1);
    fleet_req_free(r);
    redisContext *c = rc();
    redisReply *z = redisCommand(c, "ZCARD tokenwatch:indicators");
    assert_int_equal(z->integer, 1);
    freeReplyObject(z);
    z = redisCommand(c, "TTL tokenwatch:indicators");
    assert_true(z->integer > 0);
    freeReplyObject(z);
    redisFree(c);
    fleet_free(fa);
    fleet_free(fb);
    fleet_free(fc);
    config_free(&ca);
    config_free(&cb);
    config_free(&cc);
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (start_redis() != 0) {
        fprintf(stderr, "skip: no redis-server at /usr/bin/redis-server\n");
        exit(77);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stop_redis();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_networks),
        cmocka_unit_test(test_sighting_cache),
        cmocka_unit_test(test_unverified_rate),
        cmocka_unit_test(test_indicator_strings),
        cmocka_unit_test(test_indicator_table_full),
        cmocka_unit_test(test_absent),
        cmocka_unit_test(test_three_sensors),
        cmocka_unit_test(test_race),
        cmocka_unit_test(test_indicators),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
