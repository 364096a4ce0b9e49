/* test_vcache.c — the verification cache (vcache.c): hit/miss accounting, LRU order within the
 * segments, the protected working set surviving a flood of distinct tokens, the byte memcap
 * (large tokens, a verdict too big to cache, the rendered-JSON true-up), vcache_clear, and a
 * flow's memo (vcache_get_memo) against eviction, reuse and clearing.
 * Verdicts come from policy_judge with an empty key store (opaque tokens and unsigned JWTs are
 * judged without keys). The cache's use inside policy lives in test_policy.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "keystore.h"
#include "policy.h"
#include "vcache.h"

struct fx {
    struct keystore *ks;
    struct policy_cfg pol;
};

static int setup(void **state)
{
    static struct fx f; /* test fixture, lives for the whole run */
    f.ks = keystore_new();
    f.pol.clock_skew = 300;
    f.pol.max_lifetime = 86400;
    f.pol.alg_mask = (1u << POLICY_ALG_COUNT) - 1;
    *state = &f;
    return f.ks == NULL;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    keystore_free(f->ks);
    return 0;
}

static const uint8_t seed[16] = {7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* Looks tok up; returns whether it was a hit (and the verdict in *out when asked). */
static int get(struct fx *f, struct vcache *vc, const char *tok, struct verdict **out)
{
    int hit = -1;
    struct verdict *v = vcache_get(vc, f->ks, &f->pol, (const uint8_t *)tok, strlen(tok), &hit);
    assert_non_null(v);
    assert_int_equal(v->token_len, strlen(tok));
    assert_memory_equal(v->token, tok, strlen(tok));
    assert_true(hit == 0 || hit == 1);
    if (out)
        *out = v;
    return hit;
}

/* A distinct opaque token: "<prefix>-<n>" padded with 'x' to len characters. */
static char *tok(char *buf, size_t len, const char *prefix, int n)
{
    int k = snprintf(buf, len + 1, "%s-%d-", prefix, n);
    if ((size_t)k < len)
        memset(buf + k, 'x', len - (size_t)k);
    buf[len] = '\0';
    return buf;
}

static void test_hits_misses(void **state)
{
    struct fx *f = *state;
    struct vcache *vc = vcache_new(16, 0, seed);
    struct verdict *a, *b;
    assert_int_equal(get(f, vc, "token-a", &a), 0);
    assert_int_equal(get(f, vc, "token-b", NULL), 0);
    assert_int_equal(get(f, vc, "token-a", &b), 1);
    assert_ptr_equal(a, b); /* the same verdict, not judged again */
    assert_int_equal(get(f, vc, "token-a", NULL), 1);
    assert_int_equal(get(f, vc, "token-b", NULL), 1);
    assert_int_equal(get(f, vc, "token-A", NULL), 0); /* case matters: bytes are compared */
    assert_int_equal(get(f, vc, "token-", NULL), 0);  /* a prefix is another token */
    const struct vcache_stats *st = vcache_stats(vc);
    assert_int_equal(st->lookups, 7);
    assert_int_equal(st->hits, 3);
    assert_int_equal(st->misses, 4);
    assert_int_equal(st->inserts, 4);
    assert_int_equal(st->evictions, 0);
    assert_int_equal(vcache_count(vc), 4);
    vcache_free(vc);

    /* One bucket per entry at most: with two entries, every lookup walks a shared chain. */
    vc = vcache_new(2, 0, seed);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(get(f, vc, "x1", NULL), round > 0);
        assert_int_equal(get(f, vc, "x2", NULL), round > 0);
    }
    assert_int_equal(vcache_stats(vc)->hits, 4);
    vcache_free(vc);
}

/* Within probation: first in, first out (least recently used). A hit moves a token to
 * protected; protected over its cap (80%: 8 of 10) returns its least recently used to
 * probation's newest end. */
static void test_lru_order(void **state)
{
    struct fx *f = *state;
    char b[64];
    struct vcache *vc = vcache_new(10, 0, seed);
    for (int i = 0; i < 10; i++)
        assert_int_equal(get(f, vc, tok(b, 20, "t", i), NULL), 0);
    assert_int_equal(get(f, vc, tok(b, 20, "t", 1), NULL), 1); /* t1 → protected */
    assert_int_equal(get(f, vc, tok(b, 20, "t", 10), NULL), 0); /* evicts t0 */
    assert_int_equal(get(f, vc, tok(b, 20, "t", 11), NULL), 0); /* evicts t2 (t1 is safe) */
    assert_int_equal(vcache_stats(vc)->evictions, 2);
    assert_int_equal(get(f, vc, tok(b, 20, "t", 1), NULL), 1);
    assert_int_equal(get(f, vc, tok(b, 20, "t", 3), NULL), 1);  /* t3 → protected */
    assert_int_equal(get(f, vc, tok(b, 20, "t", 0), NULL), 0);  /* gone; evicts t4 */
    assert_int_equal(get(f, vc, tok(b, 20, "t", 2), NULL), 0);  /* gone; evicts t5 */
    assert_int_equal(get(f, vc, tok(b, 20, "t", 4), NULL), 0);  /* gone; evicts t6 */
    assert_int_equal(get(f, vc, tok(b, 20, "t", 7), NULL), 1);  /* still there */
    assert_int_equal(vcache_stats(vc)->evictions, 5);
    vcache_free(vc);

    /* Protected order: p0..p7 fill it (8 of 10); p0 is hit again, so p1 is its oldest; p8's
     * promotion pushes p1 back to probation, where the next inserts evict it first. */
    vc = vcache_new(10, 0, seed);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(get(f, vc, tok(b, 20, "p", i), NULL), 0);
        assert_int_equal(get(f, vc, tok(b, 20, "p", i), NULL), 1);
    }
    assert_int_equal(get(f, vc, tok(b, 20, "p", 0), NULL), 1);
    assert_int_equal(get(f, vc, tok(b, 20, "p", 8), NULL), 0);
    assert_int_equal(get(f, vc, tok(b, 20, "p", 8), NULL), 1); /* p1 demoted */
    assert_int_equal(get(f, vc, tok(b, 20, "g", 0), NULL), 0); /* 10 entries now */
    assert_int_equal(vcache_stats(vc)->evictions, 0);
    assert_int_equal(get(f, vc, tok(b, 20, "g", 1), NULL), 0); /* evicts p1 */
    assert_int_equal(get(f, vc, tok(b, 20, "g", 2), NULL), 0); /* evicts g0 */
    assert_int_equal(vcache_stats(vc)->evictions, 2);
    assert_int_equal(get(f, vc, tok(b, 20, "p", 0), NULL), 1);
    for (int i = 2; i <= 8; i++)
        assert_int_equal(get(f, vc, tok(b, 20, "p", i), NULL), 1);
    assert_int_equal(get(f, vc, tok(b, 20, "p", 1), NULL), 0);
    vcache_free(vc);
}

/* The scan: a working set in use, then 100,000 distinct one-shot tokens. Plain LRU would have
 * evicted all of it; here every working-set token is still a hit. */
static void test_flood(void **state)
{
    struct fx *f = *state;
    enum { MAX = 1000, WS = 200, FLOOD = 100000 };
    char b[96];
    struct vcache *vc = vcache_new(MAX, 0, seed);
    for (int i = 0; i < WS; i++) {
        assert_int_equal(get(f, vc, tok(b, 60, "working", i), NULL), 0);
        assert_int_equal(get(f, vc, tok(b, 60, "working", i), NULL), 1);
    }
    for (int i = 0; i < FLOOD; i++)
        assert_int_equal(get(f, vc, tok(b, 40, "garbage", i), NULL), 0);
    const struct vcache_stats *st = vcache_stats(vc);
    assert_int_equal(st->inserts, WS + FLOOD);
    assert_int_equal(st->evictions, WS + FLOOD - MAX);
    assert_int_equal(vcache_count(vc), MAX);
    for (int i = 0; i < WS; i++)
        assert_int_equal(get(f, vc, tok(b, 60, "working", i), NULL), 1);
    /* The flood itself still gets the probation segment: its latest tokens are cached. */
    assert_int_equal(get(f, vc, tok(b, 40, "garbage", FLOOD - 1), NULL), 1);
    assert_int_equal(get(f, vc, tok(b, 40, "garbage", 0), NULL), 0);
    vcache_free(vc);
}

/* Bytes: every entry is charged; the memcap holds with large tokens, a verdict larger than the
 * memcap is returned but not kept, and the protected segment keeps at most 80% of the bytes. */
static void test_memcap(void **state)
{
    struct fx *f = *state;
    enum { MEMCAP = 64 * 1024, BIG = 4096 };
    char *b = malloc(200 * 1024);
    struct vcache *vc = vcache_new(1000, MEMCAP, seed);

    /* Charges differ by exactly the token length, and a JWT pays for its claim strings twice
     * (the copies, and the estimate of the JSON that will print them). */
    get(f, vc, tok(b, 100, "c", 0), NULL);
    size_t b100 = vcache_bytes(vc);
    get(f, vc, tok(b, 300, "c", 1), NULL);
    size_t b300 = vcache_bytes(vc) - b100;
    assert_int_equal(b300 - b100, 200);
    assert_true(b100 > 100 + sizeof(struct verdict));
    /* {"alg":"RS256"} . {"iss":"x"} . "sig": strings "RS256\0" + "x\0" = 8 bytes */
    const char *jwt = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln";
    size_t before = vcache_bytes(vc);
    struct verdict *v;
    assert_int_equal(get(f, vc, jwt, &v), 0);
    assert_string_equal(v->c.alg, "RS256");
    assert_int_equal(vcache_bytes(vc) - before, b100 - 100 + strlen(jwt) + 2 * 8);
    vcache_clear(vc);
    assert_int_equal(vcache_bytes(vc), 0);

    /* Large tokens: never over the memcap, however many arrive. */
    for (int i = 0; i < 200; i++) {
        get(f, vc, tok(b, BIG, "big", i), NULL);
        assert_true(vcache_bytes(vc) <= MEMCAP);
    }
    size_t n = vcache_count(vc);
    assert_true(n >= 8 && n < MEMCAP / BIG);
    assert_int_equal(vcache_stats(vc)->evictions, 200 - n);

    /* A working set of large tokens keeps ≤ 80% of the bytes and survives a flood of large
     * garbage, which churns through the rest. */
    vcache_clear(vc);
    int ws = 0;
    for (; ws < 20; ws++) {
        get(f, vc, tok(b, BIG, "ws", ws), NULL);
        get(f, vc, tok(b, BIG, "ws", ws), NULL);
    }
    for (int i = 0; i < 500; i++) {
        get(f, vc, tok(b, BIG, "junk", i), NULL);
        assert_true(vcache_bytes(vc) <= MEMCAP);
    }
    int kept = 0;
    for (int i = 0; i < ws; i++)
        kept += get(f, vc, tok(b, BIG, "ws", i), NULL);
    /* 80% of 64 KiB holds 11 charges of ~4.5 KiB: the 11 most recently promoted survive. */
    assert_true(kept >= 10 && kept <= 12);
    for (int i = ws - kept; i < ws; i++)
        assert_int_equal(get(f, vc, tok(b, BIG, "ws", i), NULL), 1);

    /* Too big for the memcap: judged, returned (valid until the next call), not cached. */
    vcache_clear(vc);
    uint64_t inserts = vcache_stats(vc)->inserts;
    tok(b, 100 * 1024, "huge", 0);
    assert_int_equal(get(f, vc, b, &v), 0);
    assert_int_equal(v->token_len, 100 * 1024);
    assert_int_equal(vcache_count(vc), 0);
    assert_int_equal(vcache_stats(vc)->inserts, inserts);
    verdict_ref(v); /* a pending transaction keeps it */
    assert_int_equal(get(f, vc, b, NULL), 0);
    assert_int_equal(get(f, vc, "small", NULL), 0);
    assert_int_equal(v->token_len, 100 * 1024);
    verdict_unref(v);
    vcache_free(vc);
    free(b);
}

/* eve renders v->json after the insert: the entry is charged an estimate, and the real size on
 * its next hit; a true-up over the memcap evicts others (probation first), not the entry. */
static void test_json_trueup(void **state)
{
    struct fx *f = *state;
    char b[128];
    struct vcache *vc = vcache_new(100, 16 * 1024, seed);
    struct verdict *v;
    get(f, vc, tok(b, 50, "j", 0), &v);
    size_t est = vcache_bytes(vc);
    v->json_len = 3000; /* what eve_token_object would leave behind */
    v->json = calloc(1, v->json_len);
    assert_int_equal(vcache_bytes(vc), est); /* not known until the next lookup */
    assert_int_equal(get(f, vc, tok(b, 50, "j", 0), NULL), 1);
    assert_int_equal(vcache_bytes(vc), est - 256 + 3000);
    assert_int_equal(get(f, vc, tok(b, 50, "j", 0), NULL), 1);
    assert_int_equal(vcache_bytes(vc), est - 256 + 3000); /* charged once */

    /* Fill the rest, then render a big JSON on one of them: the others make room. */
    for (int i = 1; i < 100; i++)
        get(f, vc, tok(b, 50, "j", i), NULL);
    assert_true(vcache_bytes(vc) <= 16 * 1024);
    get(f, vc, tok(b, 50, "j", 99), &v);
    v->json_len = 12 * 1024;
    v->json = calloc(1, v->json_len);
    uint64_t ev = vcache_stats(vc)->evictions;
    assert_int_equal(get(f, vc, tok(b, 50, "j", 99), NULL), 1);
    assert_true(vcache_bytes(vc) <= 16 * 1024);
    assert_true(vcache_stats(vc)->evictions > ev);
    assert_int_equal(get(f, vc, tok(b, 50, "j", 99), NULL), 1);
    vcache_free(vc);
}

static void test_clear(void **state)
{
    struct fx *f = *state;
    char b[64];
    struct vcache *vc = vcache_new(8, 0, seed);
    struct verdict *kept;
    get(f, vc, "kept", &kept);
    verdict_ref(kept);
    get(f, vc, "kept", NULL); /* protected */
    for (int i = 0; i < 5; i++)
        get(f, vc, tok(b, 20, "c", i), NULL);
    assert_int_equal(vcache_count(vc), 6);
    uint64_t ev = vcache_stats(vc)->evictions;
    vcache_clear(vc);
    assert_int_equal(vcache_count(vc), 0);
    assert_int_equal(vcache_bytes(vc), 0);
    assert_int_equal(vcache_stats(vc)->evictions, ev); /* a clear is not an eviction */
    assert_memory_equal(kept->token, "kept", 4);      /* our reference still holds it */
    struct verdict *again;
    assert_int_equal(get(f, vc, "kept", &again), 0);  /* judged anew */
    assert_ptr_not_equal(again, kept);
    verdict_unref(kept);
    for (int i = 0; i < 5; i++)
        assert_int_equal(get(f, vc, tok(b, 20, "c", i), NULL), 0);
    assert_int_equal(get(f, vc, "kept", NULL), 1);
    vcache_clear(vc);
    vcache_clear(vc); /* twice is fine */
    vcache_free(vc);
    vcache_free(NULL);
}

/* vcache_get_memo, as one flow uses it: the same token again is a hit found through the memo
 * with the counters and promotion of any hit; another token takes the usual way and the memo
 * follows it; an entry evicted, reused by another token or cleared is never taken for the
 * memo's token; a verdict too big to cache leaves the memo empty. */
static int mget(struct fx *f, struct vcache *vc, struct vcache_memo *m, const char *t,
                struct verdict **out)
{
    int hit = -1;
    struct verdict *v =
        vcache_get_memo(vc, m, f->ks, &f->pol, (const uint8_t *)t, strlen(t), &hit);
    assert_non_null(v);
    assert_int_equal(v->token_len, strlen(t));
    assert_memory_equal(v->token, t, strlen(t));
    if (out)
        *out = v;
    return hit;
}

static void test_memo(void **state)
{
    struct fx *f = *state;
    char b[64];
    struct vcache *vc = vcache_new(4, 0, seed);
    struct vcache_memo m = {0}, other = {0};
    struct verdict *a, *a2;
    assert_int_equal(mget(f, vc, &m, "flow-token", &a), 0);
    assert_non_null(m.entry);
    assert_int_equal(mget(f, vc, &m, "flow-token", &a2), 1);
    assert_ptr_equal(a, a2);
    assert_int_equal(mget(f, vc, &m, "flow-token", NULL), 1);
    const struct vcache_stats *st = vcache_stats(vc);
    assert_int_equal(st->lookups, 3);
    assert_int_equal(st->hits, 2);
    assert_int_equal(st->misses, 1);
    /* another flow's memo finds the same entry the usual way */
    assert_int_equal(mget(f, vc, &other, "flow-token", NULL), 1);
    assert_ptr_equal(other.entry, m.entry);
    /* another token on the same flow: a miss, and the memo moves to it */
    void *first = m.entry;
    assert_int_equal(mget(f, vc, &m, "second-token", NULL), 0);
    assert_ptr_not_equal(m.entry, first);
    assert_int_equal(mget(f, vc, &m, "flow-token", NULL), 1); /* still cached, found again */
    assert_ptr_equal(m.entry, first);
    /* evicted: "flow-token" (protected) survives probation's churn, so fill the cache with
     * tokens seen twice until it is pushed out; the memo's entry is then another token's or
     * free, and the lookup judges "flow-token" anew */
    for (int i = 0; i < 8; i++) {
        get(f, vc, tok(b, 20, "e", i), NULL);
        get(f, vc, tok(b, 20, "e", i), NULL);
    }
    void *stale = m.entry;
    uint64_t misses = st->misses;
    assert_int_equal(mget(f, vc, &m, "flow-token", &a2), 0);
    assert_int_equal(st->misses, misses + 1);
    (void)stale;
    /* cleared: the same */
    vcache_clear(vc);
    assert_int_equal(mget(f, vc, &m, "flow-token", NULL), 0);
    assert_int_equal(mget(f, vc, &m, "flow-token", NULL), 1);
    vcache_free(vc);

    /* too big to cache: returned, memo empty, judged again next time */
    vc = vcache_new(4, 64, seed);
    struct vcache_memo big = {0};
    assert_int_equal(mget(f, vc, &big, tok(b, 60, "big", 1), NULL), 0);
    assert_null(big.entry);
    assert_int_equal(mget(f, vc, &big, tok(b, 60, "big", 1), NULL), 0);
    vcache_free(vc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hits_misses),  cmocka_unit_test(test_lru_order),
        cmocka_unit_test(test_flood),        cmocka_unit_test(test_memcap),
        cmocka_unit_test(test_json_trueup),  cmocka_unit_test(test_clear),
        cmocka_unit_test(test_memo),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
