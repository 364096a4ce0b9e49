/* test_replay.c — unit tests for sensor/trust/replay.c (token_replay, sid 9100015): with N = 2 the
 * third distinct client within the window is a replay (and so is every later one); one client
 * repeating never counts twice; presentations outside the window (either side: time may step
 * back) do not count, the window's edge does; IPv6 and IPv4-mapped addresses are distinct
 * clients; the identity is the digest's first 16 bytes; the memcap under a flood of 1e5 distinct
 * tokens (memory bounded, least recently used evicted, a token in use kept); a tiny memcap;
 * hostile timestamps (INT64_MIN/MAX); 4 threads on one table (counts exact, detection intact).
 * Prints the uncontended cost of replay_check in ns (hit and evicting-miss paths). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <pthread.h>
#include <cmocka.h>

#include "replay.h"

static const uint8_t SEED[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
#define T0 INT64_C(1685620800)
#define ENTRY_SIZE(n) (40u + 24u * ((n) + 1u))

/* A digest whose identity (first 16 bytes) encodes i. */
static void digest(uint8_t d[32], uint32_t i)
{
    memset(d, 0xa5, 32);
    memcpy(d, &i, sizeof(i));
}

/* ::ffff:10.0.x.y */
static void addr4(uint8_t a[16], uint32_t i)
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = 10;
    a[13] = 0;
    a[14] = (uint8_t)(i >> 8);
    a[15] = (uint8_t)i;
}

static int check4(struct replay *r, uint32_t tok, uint32_t client, int64_t t)
{
    uint8_t d[32], a[16];
    digest(d, tok);
    addr4(a, client);
    return replay_check(r, d, a, t);
}

static void test_third_client_replays(void **state)
{
    (void)state;
    struct replay *r = replay_new(2, 600, 1 << 20, SEED);
    assert_non_null(r);
    assert_int_equal(check4(r, 7, 1, T0), 0);
    assert_int_equal(check4(r, 7, 2, T0 + 1), 0);
    assert_int_equal(check4(r, 7, 3, T0 + 2), 1);
    assert_int_equal(check4(r, 7, 4, T0 + 3), 1);
    /* the first client again: more than two are still live */
    assert_int_equal(check4(r, 7, 1, T0 + 4), 1);
    /* another token is independent */
    assert_int_equal(check4(r, 8, 3, T0 + 5), 0);
    assert_int_equal(check4(r, 8, 4, T0 + 5), 0);
    struct replay_stats st;
    replay_stats(r, &st);
    assert_int_equal(st.checks, 7);
    assert_int_equal(st.alerts, 3);
    assert_int_equal(st.evictions, 0);
    replay_free(r);
}

static void test_same_client_never_twice(void **state)
{
    (void)state;
    struct replay *r = replay_new(2, 600, 1 << 20, SEED);
    assert_non_null(r);
    for (int i = 0; i < 100; i++)
        assert_int_equal(check4(r, 1, 9, T0 + i), 0);
    assert_int_equal(check4(r, 1, 10, T0 + 100), 0);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(check4(r, 1, 9, T0 + 100 + i), 0);
        assert_int_equal(check4(r, 1, 10, T0 + 100 + i), 0);
    }
    assert_int_equal(check4(r, 1, 11, T0 + 200), 1);
    replay_free(r);
}

static void test_window(void **state)
{
    (void)state;
    struct replay *r = replay_new(2, 60, 1 << 20, SEED);
    assert_non_null(r);
    /* 1 at T0 has left the window when 3 comes at T0 + 61 */
    assert_int_equal(check4(r, 1, 1, T0), 0);
    assert_int_equal(check4(r, 1, 2, T0 + 30), 0);
    assert_int_equal(check4(r, 1, 3, T0 + 61), 0);
    /* 2, 3 and 4 are within 60 s of T0 + 61 */
    assert_int_equal(check4(r, 1, 4, T0 + 61), 1);
    /* the edge counts: exactly `window` apart */
    assert_int_equal(check4(r, 2, 1, T0), 0);
    assert_int_equal(check4(r, 2, 2, T0), 0);
    assert_int_equal(check4(r, 2, 3, T0 + 60), 1);
    /* a client's slot is refreshed by its later presentations */
    assert_int_equal(check4(r, 3, 1, T0), 0);
    assert_int_equal(check4(r, 3, 2, T0), 0);
    assert_int_equal(check4(r, 3, 1, T0 + 50), 0);
    assert_int_equal(check4(r, 3, 3, T0 + 100), 0); /* 2 has gone, 1 (T0 + 50) is live */
    assert_int_equal(check4(r, 3, 4, T0 + 110), 1); /* 1, 3, 4 */
    /* long after, the slots are reused: N+1 slots hold any number of clients over time */
    for (uint32_t c = 100; c < 200; c++)
        assert_int_equal(check4(r, 4, c, T0 + (int64_t)c * 61), 0);
    replay_free(r);
}

static void test_time_backwards(void **state)
{
    (void)state;
    struct replay *r = replay_new(2, 60, 1 << 20, SEED);
    assert_non_null(r);
    assert_int_equal(check4(r, 1, 1, T0), 0);
    assert_int_equal(check4(r, 1, 2, T0), 0);
    /* a year earlier: 1 and 2 are not within the window of it */
    assert_int_equal(check4(r, 1, 3, T0 - 365 * 86400), 0);
    /* back to T0: 1, 2 and 4 (3 is a year away) */
    assert_int_equal(check4(r, 1, 4, T0), 1);
    /* a few seconds back, as workers finishing out of order give: still within */
    assert_int_equal(check4(r, 5, 1, T0 + 10), 0);
    assert_int_equal(check4(r, 5, 2, T0 + 5), 0);
    assert_int_equal(check4(r, 5, 3, T0), 1);
    /* hostile extremes neither crash nor overflow (3 slots: N + 1) */
    assert_int_equal(check4(r, 6, 1, INT64_MAX), 0);
    assert_int_equal(check4(r, 6, 2, INT64_MIN), 0);
    assert_int_equal(check4(r, 6, 3, 0), 0);
    assert_int_equal(check4(r, 6, 4, INT64_MAX - 60), 0); /* 1, 4 (4 took 2's slot) */
    assert_int_equal(check4(r, 6, 5, INT64_MAX - 30), 1); /* 1, 4, 5 */
    assert_int_equal(check4(r, 6, 6, INT64_MIN + 1), 0);  /* 6 alone */
    assert_int_equal(check4(r, 6, 7, INT64_MIN + 61), 0); /* 6, 7 */
    assert_int_equal(check4(r, 6, 8, INT64_MIN + 31), 1); /* 6, 7, 8 */
    replay_free(r);
}

static void test_ipv6_and_mapped(void **state)
{
    (void)state;
    struct replay *r = replay_new(2, 600, 1 << 20, SEED);
    assert_non_null(r);
    uint8_t d[32], a[16], b[16], c[16];
    digest(d, 42);
    /* 2001:db8::1 and 2001:db8::2 differ in the last byte only */
    memset(a, 0, 16);
    a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8, a[15] = 1;
    memcpy(b, a, 16);
    b[15] = 2;
    /* ::ffff:0.0.0.1 has a's last four bytes but is another client */
    addr4(c, 1);
    c[12] = c[13] = c[14] = 0;
    assert_int_equal(replay_check(r, d, a, T0), 0);
    assert_int_equal(replay_check(r, d, b, T0), 0);
    assert_int_equal(replay_check(r, d, a, T0 + 1), 0);
    assert_int_equal(replay_check(r, d, c, T0 + 2), 1);
    replay_free(r);
}

static void test_identity_16_bytes(void **state)
{
    (void)state;
    struct replay *r = replay_new(2, 600, 1 << 20, SEED);
    assert_non_null(r);
    uint8_t d1[32], d2[32], d3[32], a[16];
    digest(d1, 5);
    memcpy(d2, d1, 32);
    d2[31] ^= 1;    /* same first 16 bytes: the same identity (replay.c says why) */
    memcpy(d3, d1, 32);
    d3[15] ^= 1;    /* differs within the identity: another token */
    addr4(a, 1);
    assert_int_equal(replay_check(r, d1, a, T0), 0);
    addr4(a, 2);
    assert_int_equal(replay_check(r, d3, a, T0), 0);
    assert_int_equal(replay_check(r, d2, a, T0), 0);
    addr4(a, 3);
    assert_int_equal(replay_check(r, d2, a, T0), 1);
    addr4(a, 4);
    assert_int_equal(replay_check(r, d3, a, T0), 0);
    replay_free(r);
}

static void test_memcap_flood(void **state)
{
    (void)state;
    const uint64_t memcap = 256 << 10;
    struct replay *r = replay_new(3, 600, memcap, SEED);
    assert_non_null(r);
    uint64_t empty = replay_memuse(r);
    assert_true(empty < memcap);
    /* token 0 presented by two clients, then kept in use during the flood */
    assert_int_equal(check4(r, 0, 1, T0), 0);
    assert_int_equal(check4(r, 0, 2, T0), 0);
    assert_int_equal(replay_memuse(r) - empty, ENTRY_SIZE(3));
    const uint32_t n = 100000;
    for (uint32_t i = 1; i <= n; i++) {
        assert_int_equal(check4(r, i, i, T0 + 1), 0);
        if (i % 8 == 0)
            assert_int_equal(check4(r, 0, 1, T0 + 1), 0);
        if (i % 1000 == 0)
            assert_true(replay_memuse(r) <= memcap);
    }
    uint64_t use = replay_memuse(r);
    assert_true(use <= memcap);
    assert_int_equal((use - empty) % ENTRY_SIZE(3), 0);
    uint64_t held = (use - empty) / ENTRY_SIZE(3);
    /* the whole budget used: not even one more entry would fit */
    assert_true(use + ENTRY_SIZE(3) > memcap);
    struct replay_stats st;
    replay_stats(r, &st);
    assert_int_equal(st.checks, 2 + n + n / 8);
    assert_int_equal(st.evictions, n + 1 - held);
    assert_int_equal(st.alerts, 0);
    /* token 0 survived (recently used): clients 1, 2, 3, 4 -> replay */
    assert_int_equal(check4(r, 0, 3, T0 + 2), 0);
    assert_int_equal(check4(r, 0, 4, T0 + 2), 1);
    /* the last flood token too; the first ones are gone (counted from scratch) */
    assert_int_equal(check4(r, n, 900001, T0 + 2), 0);
    assert_int_equal(check4(r, n, 900002, T0 + 2), 0);
    assert_int_equal(check4(r, n, 900003, T0 + 2), 1);
    assert_int_equal(check4(r, 1, 900001, T0 + 2), 0);
    assert_int_equal(check4(r, 1, 900002, T0 + 2), 0);
    assert_int_equal(check4(r, 1, 900003, T0 + 2), 0);
    assert_true(replay_memuse(r) <= memcap);
    replay_free(r);
}

static void test_memcap_tiny(void **state)
{
    (void)state;
    /* config.c's floor (4096 bytes) with its largest N (64): room for a couple of entries */
    struct replay *r = replay_new(64, 600, 4096, SEED);
    assert_non_null(r);
    for (uint32_t i = 0; i < 1000; i++) {
        check4(r, i % 50, i % 70, T0 + i / 100);
        assert_true(replay_memuse(r) <= 4096);
    }
    /* 65 distinct clients on a fresh token: the 65th is a replay */
    for (uint32_t c = 0; c < 64; c++)
        assert_int_equal(check4(r, 777, c, T0 + 20), 0);
    assert_int_equal(check4(r, 777, 64, T0 + 20), 1);
    replay_free(r);
    /* below one entry: one is kept anyway */
    r = replay_new(3, 600, 16, SEED);
    assert_non_null(r);
    assert_int_equal(check4(r, 1, 1, T0), 0);
    assert_int_equal(check4(r, 2, 1, T0), 0);
    assert_int_equal(check4(r, 1, 2, T0), 0);
    replay_free(r);
    replay_free(NULL);
}

/* --- threads ------------------------------------------------------------------------------- */

#define NTHREADS 4
#define THREAD_TOKENS 2000
#define THREAD_ROUNDS 50

struct worker_arg {
    struct replay *r;
    uint32_t id;
    uint64_t hits;
};

/* Each thread presents every token from its own address, over and over. */
static void *hammer(void *p)
{
    struct worker_arg *w = p;
    for (uint32_t round = 0; round < THREAD_ROUNDS; round++)
        for (uint32_t i = 0; i < THREAD_TOKENS; i++)
            w->hits += (uint64_t)check4(w->r, i, 1000 + w->id, T0 + round);
    return NULL;
}

/* Flood threads: distinct tokens through a small table, evicting all the time. */
static void *flood(void *p)
{
    struct worker_arg *w = p;
    for (uint32_t i = 0; i < 50000; i++)
        w->hits += (uint64_t)check4(w->r, (w->id << 24) | i, i & 7, T0 + (int64_t)(i & 3));
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    /* 4 clients per token with N = 3: the table must see all four, so replays are found */
    struct replay *r = replay_new(3, 600, 16 << 20, SEED);
    assert_non_null(r);
    pthread_t th[NTHREADS];
    struct worker_arg w[NTHREADS];
    for (uint32_t i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker_arg){r, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
    }
    uint64_t hits = 0;
    for (uint32_t i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        hits += w[i].hits;
    }
    struct replay_stats st;
    replay_stats(r, &st);
    assert_int_equal(st.checks, (uint64_t)NTHREADS * THREAD_TOKENS * THREAD_ROUNDS);
    assert_int_equal(st.alerts, hits);
    assert_int_equal(st.evictions, 0);
    /* every token's fourth client was a replay, at the least */
    assert_true(hits >= THREAD_TOKENS);
    for (uint32_t i = 0; i < THREAD_TOKENS; i++)
        assert_int_equal(check4(r, i, 1000, T0 + THREAD_ROUNDS), 1);
    replay_free(r);

    r = replay_new(3, 600, 64 << 10, SEED);
    assert_non_null(r);
    for (uint32_t i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker_arg){r, i + 1, 0};
        assert_int_equal(pthread_create(&th[i], NULL, flood, &w[i]), 0);
    }
    for (uint32_t i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    replay_stats(r, &st);
    assert_int_equal(st.checks, (uint64_t)NTHREADS * 50000);
    assert_true(st.evictions > 0);
    assert_true(replay_memuse(r) <= (64 << 10));
    replay_free(r);
}

/* --- cost ---------------------------------------------------------------------------------- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void test_cost(void **state)
{
    (void)state;
    struct replay *r = replay_new(3, 600, 16 << 20, SEED);
    assert_non_null(r);
    uint8_t d[1024][32], a[16];
    for (uint32_t i = 0; i < 1024; i++)
        digest(d[i], i);
    addr4(a, 1);
    const uint32_t n = 2000000;
    int sum = 0;
    double t = now_ns();
    for (uint32_t i = 0; i < n; i++)
        sum += replay_check(r, d[i & 1023], a, T0);
    double hit = (now_ns() - t) / n;
    assert_int_equal(sum, 0);
    replay_free(r);

    /* every check a new token, in a full table: lookup miss + LRU eviction */
    r = replay_new(3, 600, 1 << 20, SEED);
    assert_non_null(r);
    uint8_t dm[32];
    for (uint32_t i = 0; i < 100000; i++) {
        digest(dm, i);
        replay_check(r, dm, a, T0);
    }
    t = now_ns();
    for (uint32_t i = 0; i < n; i++) {
        digest(dm, 100000 + i);
        sum += replay_check(r, dm, a, T0);
    }
    double miss = (now_ns() - t) / n;
    assert_int_equal(sum, 0);
    replay_free(r);
    print_message("replay_check, 1 thread: %.1f ns (known token), %.1f ns (new token, evicting); "
                  "entry %u bytes at N=3\n", hit, miss, ENTRY_SIZE(3));
    assert_true(hit < 20000 && miss < 20000); /* sanity only: sanitizer builds are slow */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_third_client_replays),
        cmocka_unit_test(test_same_client_never_twice),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_time_backwards),
        cmocka_unit_test(test_ipv6_and_mapped),
        cmocka_unit_test(test_identity_16_bytes),
        cmocka_unit_test(test_memcap_flood),
        cmocka_unit_test(test_memcap_tiny),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
