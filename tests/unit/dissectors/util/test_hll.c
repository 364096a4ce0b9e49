/* test_hll.c — unit tests for dissectors/util/hll.c (stats.tokens.distinct): empty is 0; repeats count
 * once; exact up to HLL_EXACT_MAX (1,000 and 12,288 distinct, each added three times); past it
 * the estimate within the stated 2.5 % at 20,000, 100,000 and 1,000,000 distinct under 8 keys;
 * merge is the union (two overlapping halves merged count as the whole, register for register,
 * in both regimes) and refuses a different key; 4 threads adding overlapping ranges at once count
 * what one thread counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <pthread.h>
#include <cmocka.h>

#include "hll.h"

/* A SHA-256 stand-in that encodes i (the counter hashes it with its key anyway). */
static void digest(uint8_t d[32], uint32_t i)
{
    memset(d, 0x5a, 32);
    memcpy(d + 7, &i, sizeof(i));
}

static void key_of(uint8_t key[16], int k)
{
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)(k * 37 + i * 11 + 3);
}

static void add_range(struct hll *h, uint32_t from, uint32_t to)
{
    uint8_t d[32];
    for (uint32_t i = from; i < to; i++) {
        digest(d, i);
        hll_add(h, d);
    }
}

static void test_empty_and_repeats(void **state)
{
    (void)state;
    uint8_t key[16];
    key_of(key, 0);
    struct hll *h = hll_new(key);
    assert_non_null(h);
    assert_int_equal(hll_count(h), 0);
    for (int r = 0; r < 100; r++)
        add_range(h, 7, 8);
    assert_int_equal(hll_count(h), 1);
    hll_free(h);
}

static void test_exact_when_small(void **state)
{
    (void)state;
    const uint32_t ns[] = {1000, HLL_EXACT_MAX};
    for (int k = 0; k < 8; k++)
        for (size_t a = 0; a < sizeof(ns) / sizeof(ns[0]); a++) {
            uint8_t key[16];
            key_of(key, k);
            struct hll *h = hll_new(key);
            for (int r = 0; r < 3; r++)
                add_range(h, 0, ns[a]);
            assert_int_equal(hll_count(h), ns[a]);
            hll_free(h);
        }
}

static void test_estimate_within_bound(void **state)
{
    (void)state;
    const uint32_t ns[] = {20000, 100000, 1000000};
    double worst = 0;
    for (size_t a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
        for (int k = 0; k < (ns[a] > 100000 ? 2 : 8); k++) {
            uint8_t key[16];
            key_of(key, k);
            struct hll *h = hll_new(key);
            add_range(h, 0, ns[a]);
            add_range(h, 0, ns[a] / 2); /* repeats change nothing */
            double e = (double)hll_count(h), rel = (e - ns[a]) / ns[a];
            rel = rel < 0 ? -rel : rel;
            if (rel > worst)
                worst = rel;
            if (rel > 0.025)
                fail_msg("%u distinct, key %d: estimate %.0f is %.2f %% off", ns[a], k, e,
                         100 * rel);
            hll_free(h);
        }
    printf("worst relative error past the exact range: %.2f %%\n", 100 * worst);
}

static void test_merge_is_union(void **state)
{
    (void)state;
    const uint32_t ns[] = {5000, 100000}; /* the exact regime and the estimate */
    for (size_t a = 0; a < sizeof(ns) / sizeof(ns[0]); a++) {
        uint8_t key[16];
        key_of(key, 1);
        struct hll *x = hll_new(key), *y = hll_new(key), *all = hll_new(key);
        add_range(x, 0, ns[a] * 6 / 10);
        add_range(y, ns[a] * 4 / 10, ns[a]);
        add_range(all, 0, ns[a]);
        assert_int_equal(hll_merge(x, y), 0);
        assert_int_equal(hll_count(x), hll_count(all));
        if (ns[a] <= HLL_EXACT_MAX)
            assert_int_equal(hll_count(x), ns[a]);
        /* merging again, or merging the union into itself, adds nothing */
        assert_int_equal(hll_merge(x, y), 0);
        assert_int_equal(hll_merge(x, all), 0);
        assert_int_equal(hll_count(x), hll_count(all));
        hll_free(x);
        hll_free(y);
        hll_free(all);
    }
    uint8_t k1[16], k2[16];
    key_of(k1, 1);
    key_of(k2, 2);
    struct hll *x = hll_new(k1), *y = hll_new(k2);
    add_range(y, 0, 10);
    assert_int_equal(hll_merge(x, y), -1);
    assert_int_equal(hll_count(x), 0);
    hll_free(x);
    hll_free(y);
}

struct job {
    struct hll *h;
    uint32_t from, to;
};

static void *adder(void *arg)
{
    struct job *j = arg;
    add_range(j->h, j->from, j->to);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    const uint32_t ns[] = {HLL_EXACT_MAX - 100, 200000};
    for (size_t a = 0; a < sizeof(ns) / sizeof(ns[0]); a++) {
        uint8_t key[16];
        key_of(key, 3);
        struct hll *shared = hll_new(key), *one = hll_new(key);
        pthread_t t[4];
        struct job j[4];
        for (int i = 0; i < 4; i++) {
            /* overlapping quarters: each value added by up to two threads at once */
            j[i] = (struct job){shared, ns[a] / 4 * (uint32_t)i, ns[a] / 4 * (uint32_t)(i + 2)};
            if (j[i].to > ns[a])
                j[i].to = ns[a];
            assert_int_equal(pthread_create(&t[i], NULL, adder, &j[i]), 0);
        }
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        add_range(one, 0, ns[a]);
        assert_int_equal(hll_count(shared), hll_count(one));
        hll_free(shared);
        hll_free(one);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_repeats),
        cmocka_unit_test(test_exact_when_small),
        cmocka_unit_test(test_estimate_within_bound),
        cmocka_unit_test(test_merge_is_union),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
