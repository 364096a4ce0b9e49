/* test_reload.c — hot reload of the key store (sensor/trust/reload.c, sensor_keystore_sync).
 *
 * The exchange: a published store is current at once; the old one stays until every reader has
 * acknowledged a generation at least as new as the one that replaced it, and a lagging reader
 * holds back exactly the stores it may still use. The store a reader loads is never older than
 * the generation it read first. Threads: readers adopting and using stores (real JWKS keys,
 * looked up and verified against through each reader's own verification contexts, cleared on
 * adoption as a worker does) while the control side publishes and frees: under ASan any early
 * free is a use-after-free. reload_now: the configuration reread and published, or a
 * broken file refused with the old store kept. The sensor's side: after a swap the verification
 * cache forgets every verdict judged with the old store, and the old store is then freed.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "b64.h"
#include "config.h"
#include "keystore.h"
#include "reload.h"
#include "sensor.h"
#include "verify.h"

#define ORG_JWKS TW_SOURCE_DIR "/etc/demo/keys/demo-organizations.jwks.json"
#define ORG_ISS "https://login.microsoftonline.com/{tenantid}/v2.0"
#define ORG1_KID "IUrbLfDoSMUtofNmDGCh6woGrdM"
#define TID "3f5a1b2c-8d4e-4f6a-9b7c-0d1e2f3a4b5c"

/* A store whose one revoked entry names it: "g<N>". */
static struct keystore *tagged(uint64_t n)
{
    struct keystore *ks = keystore_new();
    char kid[32];
    snprintf(kid, sizeof(kid), "g%llu", (unsigned long long)n);
    assert_non_null(ks);
    assert_int_equal(keystore_add_revoked(ks, kid, NULL, NULL, NULL, "test"), 0);
    return ks;
}

static uint64_t tag_of(const struct keystore *ks)
{
    return strtoull(ks->revoked[0].kid + 1, NULL, 10);
}

static void test_publish_ack_collect(void **state)
{
    (void)state;
    struct reload *r = reload_new(tagged(0), 2);
    assert_non_null(r);
    uint64_t g;
    assert_int_equal(reload_generation(r), 0);
    assert_int_equal(tag_of(reload_current(r, &g)), 0);
    assert_int_equal(g, 0);

    assert_int_equal(reload_publish(r, tagged(1)), 1);
    assert_int_equal(reload_generation(r), 1);
    assert_int_equal(tag_of(reload_current(r, &g)), 1);
    assert_int_equal(g, 1);
    assert_int_equal(reload_collect(r), 1); /* nobody acknowledged: store 0 stays */
    reload_ack(r, 0, 1);
    assert_int_equal(reload_collect(r), 1); /* reader 1 may still hold store 0 */
    reload_ack(r, 1, 1);
    assert_int_equal(reload_collect(r), 0);

    /* Reader 1 lags while three stores go by: it holds back only what it may still use. */
    assert_int_equal(reload_publish(r, tagged(2)), 2);
    assert_int_equal(reload_publish(r, tagged(3)), 3);
    assert_int_equal(reload_publish(r, tagged(4)), 4);
    reload_ack(r, 0, 4);
    assert_int_equal(reload_collect(r), 3); /* stores 1, 2, 3 */
    reload_ack(r, 1, 2);                    /* reader 1 is on store 2 now: store 1 can go */
    assert_int_equal(reload_collect(r), 2);
    reload_ack(r, 1, 4);
    assert_int_equal(reload_collect(r), 0);
    reload_ack(r, 7, 4); /* no such slot: ignored */
    /* Retired stores nobody acknowledged are freed with the exchange (ASan: no leak). */
    assert_int_equal(reload_publish(r, tagged(5)), 5);
    reload_free(r);
    reload_free(NULL);
}

/* ---- threads ---------------------------------------------------------------------------- */

struct stress {
    struct reload *r;
    _Atomic int done;
    uint64_t publishes;
};

struct reader {
    struct stress *st;
    size_t slot;
    uint64_t adoptions, checks, errors;
};

/* A JWT naming org-1's kid, with a bad signature: the lookup walks the store's keys and the
 * verification uses its EVP_PKEY (freed early, ASan reports it). */
static size_t fake_jwt(char *out, size_t cap, uint64_t n)
{
    char hdr[] = "{\"alg\":\"RS256\",\"kid\":\"" ORG1_KID "\"}";
    char pl[256];
    snprintf(pl, sizeof(pl), "{\"iss\":\"https://login.microsoftonline.com/" TID "/v2.0\","
             "\"tid\":\"" TID "\",\"iat\":1685620800,\"exp\":1685624400,\"n\":%llu}",
             (unsigned long long)n);
    assert_true(cap > 2048);
    size_t len = b64url_encode((const uint8_t *)hdr, strlen(hdr), out);
    out[len++] = '.';
    len += b64url_encode((const uint8_t *)pl, strlen(pl), out + len);
    out[len++] = '.';
    uint8_t sig[256];
    memset(sig, 0x5a, sizeof(sig));
    len += b64url_encode(sig, sizeof(sig), out + len);
    out[len] = '\0';
    return len;
}

static struct keystore *org_store(uint64_t n)
{
    struct keystore *ks = keystore_new();
    char err[256];
    const char *iss[] = {ORG_ISS};
    assert_non_null(ks);
    if (keystore_add_jwks_file(ks, "org", ORG_JWKS, iss, 1, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    char kid[32];
    snprintf(kid, sizeof(kid), "g%llu", (unsigned long long)n);
    keystore_add_revoked(ks, kid, NULL, NULL, NULL, "tag");
    return ks;
}

static void *reader_main(void *arg)
{
    struct reader *rd = arg;
    struct reload *r = rd->st->r;
    uint64_t seen;
    struct keystore *ks = reload_current(r, &seen);
    /* Like a worker: its own verification contexts, which hold the store's EVP_PKEYs and are
     * forgotten before the acknowledgement. */
    struct policy_cfg pol = {.clock_skew = 300, .max_lifetime = 86400, .alg_mask = ~0u,
                             .vx = verify_ctxs_new(16)};
    assert_non_null(pol.vx);
    char tok[4096];
    for (uint64_t n = 0; !atomic_load(&rd->st->done) || n < 50; n++) {
        if (reload_generation(r) != seen) {
            uint64_t g;
            ks = reload_current(r, &g);
            /* The store is the one published with g, or a newer one: never older. */
            if (tag_of(ks) < g)
                rd->errors++;
            seen = g;
            rd->adoptions++;
            verify_ctxs_clear(pol.vx);
            reload_ack(r, rd->slot, g);
        }
        size_t len = fake_jwt(tok, sizeof(tok), n * 131 + rd->slot);
        const struct ks_key *key = NULL;
        struct verdict *v = policy_judge_key(ks, &pol, (const uint8_t *)tok, len, &key);
        if (!v || !key || v->sig != SIG_INVALID || strcmp(key->set->name, "org") != 0)
            rd->errors++;
        if (v)
            verdict_unref(v);
        rd->checks++;
    }
    verify_ctxs_free(pol.vx);
    return NULL;
}

static void test_threads_swap_under_readers(void **state)
{
    (void)state;
    enum { NR = 4, NPUB = 60 };
    struct stress st = {.r = reload_new(org_store(0), NR)};
    assert_non_null(st.r);
    atomic_init(&st.done, 0);
    struct reader rd[NR];
    pthread_t th[NR];
    for (size_t i = 0; i < NR; i++) {
        rd[i] = (struct reader){.st = &st, .slot = i};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
    }
    for (uint64_t n = 1; n <= NPUB; n++) {
        assert_int_equal(reload_publish(st.r, org_store(n)), n);
        reload_collect(st.r);
        usleep(500);
    }
    atomic_store(&st.done, 1);
    uint64_t checks = 0, adoptions = 0;
    for (size_t i = 0; i < NR; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(rd[i].errors, 0);
        checks += rd[i].checks;
        adoptions += rd[i].adoptions;
    }
    assert_true(checks >= NR * 50);
    assert_true(adoptions >= 1);
    print_message("%llu judgements, %llu store adoptions across %d readers, %d publications\n",
                  (unsigned long long)checks, (unsigned long long)adoptions, NR, NPUB);
    /* Every reader ends on the last store once it looks again; then nothing stays retired. */
    for (size_t i = 0; i < NR; i++)
        reload_ack(st.r, i, NPUB);
    assert_int_equal(reload_collect(st.r), 0);
    uint64_t g;
    assert_int_equal(tag_of(reload_current(st.r, &g)), NPUB);
    reload_free(st.r);
}

/* ---- reload_now: the configuration reread -------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_reload_now(void **state)
{
    (void)state;
    char dir[] = "/tmp/tw-reload-XXXXXX", cfgp[128], text[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(cfgp, sizeof(cfgp), "%s/t.yaml", dir);
    /* The demo key set is made of published test keys: a reload to it without
     * allow-test-keys is refused like a broken file, naming the key and its private half. */
    snprintf(text, sizeof(text),
             "keysets:\n  - name: org\n    jwks: %s\n    issuers: [\"%s\"]\n", ORG_JWKS,
             ORG_ISS);
    write_file(cfgp, text);
    struct reload *r = reload_new(keystore_new(), 1);
    assert_non_null(r);
    reload_set_source(r, cfgp, NULL, 0, NULL, -1);
    assert_int_equal(reload_now(r), -1);
    uint64_t g, done, failed;
    assert_int_equal(reload_generation(r), 0);
    snprintf(text, sizeof(text),
             "allow-test-keys: yes\n"
             "keysets:\n  - name: org\n    jwks: %s\n    issuers: [\"%s\"]\n"
             "revoked-keys:\n  - kid: abc\n  - x5t: def\n", ORG_JWKS, ORG_ISS);
    write_file(cfgp, text);
    assert_int_equal(reload_now(r), 0);
    struct keystore *ks = reload_current(r, &g);
    assert_int_equal(g, 1);
    assert_int_equal(ks->nsets, 1);
    assert_int_equal(ks->sets[0].nkeys, 3);
    assert_int_equal(ks->nrevoked, 2);

    /* A key set file that is not JSON: refused, the running store stays. */
    snprintf(text, sizeof(text), "%s/broken.json", dir);
    write_file(text, "{\"keys\": [");
    char text2[2048];
    snprintf(text2, sizeof(text2),
             "allow-test-keys: yes\nkeysets:\n  - name: org\n    jwks: %s\n    issuers: "
             "[\"%s\"]\n", text, ORG_ISS);
    write_file(cfgp, text2);
    assert_int_equal(reload_now(r), -1);
    assert_ptr_equal(reload_current(r, &g), ks);
    assert_int_equal(g, 1);
    /* The --set overrides of the start are applied again: one naming a good file wins. */
    const char *sets[] = {"keysets.jwks=" ORG_JWKS};
    reload_set_source(r, cfgp, sets, 1, NULL, -1);
    assert_int_equal(reload_now(r), 0);
    ks = reload_current(r, &g);
    assert_int_equal(g, 2);
    assert_int_equal(ks->sets[0].nkeys, 3);
    assert_int_equal(ks->nrevoked, 0);
    reload_set_source(r, cfgp, NULL, 0, NULL, -1);
    /* Broken YAML: refused. */
    write_file(cfgp, "keysets: [\n");
    assert_int_equal(reload_now(r), -1);
    assert_ptr_equal(reload_current(r, &g), ks);
    /* The file gone: refused. */
    unlink(cfgp);
    assert_int_equal(reload_now(r), -1);
    assert_ptr_equal(reload_current(r, &g), ks);
    assert_int_equal(g, 2);
    reload_counts(r, &done, &failed);
    assert_int_equal(done, 2);
    assert_int_equal(failed, 4);
    reload_free(r);
    unlink(text);
    rmdir(dir);
}

/* A key set file whose keys are all refused (an oct key only) is refused like a broken file:
 * the running store stays. A file with no keys at all is accepted (it may be filled later). */
static void test_reload_no_usable_key(void **state)
{
    (void)state;
    char dir[] = "/tmp/tw-reload-XXXXXX", cfgp[128], jwks[128], text[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(cfgp, sizeof(cfgp), "%s/t.yaml", dir);
    snprintf(jwks, sizeof(jwks), "%s/k.json", dir);
    snprintf(text, sizeof(text), "keysets:\n  - name: org\n    jwks: %s\n    issuers: [\"%s\"]\n",
             jwks, ORG_ISS);
    write_file(cfgp, text);
    write_file(jwks, "{\"keys\": []}");
    struct reload *r = reload_new(keystore_new(), 1);
    assert_non_null(r);
    reload_set_source(r, cfgp, NULL, 0, NULL, -1);
    assert_int_equal(reload_now(r), 0);
    uint64_t g;
    struct keystore *ks = reload_current(r, &g);
    assert_int_equal(g, 1);
    assert_int_equal(ks->sets[0].nkeys, 0);
    write_file(jwks, "{\"keys\": [{\"kty\": \"oct\", \"kid\": \"s\", \"k\": \"c2VjcmV0\"}]}");
    assert_int_equal(reload_now(r), -1);
    assert_ptr_equal(reload_current(r, &g), ks);
    assert_int_equal(g, 1);
    reload_free(r);
    unlink(jwks);
    unlink(cfgp);
    rmdir(dir);
}

/* ---- the sensor's side --------------------------------------------------------------------- */

static void test_sensor_sync_clears_cache(void **state)
{
    (void)state;
    char dir[] = "/tmp/tw-reload-XXXXXX", fn[128], err[512];
    assert_non_null(mkdtemp(dir));
    snprintf(fn, sizeof(fn), "outputs.eve.filename=%s/eve.json", dir);
    const char *sets[] = {fn};
    struct config cfg;
    config_defaults(&cfg);
    if (config_load(&cfg, NULL, sets, 1, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    struct reload *r = reload_new(org_store(0), 1);
    struct sensor_shared sh = {.reload = r, .reload_slot = 0};
    int code;
    struct sensor *s = sensor_new_shared(&cfg, dir, &sh, err, sizeof(err), &code);
    if (!s)
        fail_msg("%s", err);
    uint64_t g;
    assert_ptr_equal(s->ks, reload_current(r, &g));
    assert_int_equal(s->ks_gen, 0);

    char tok[4096];
    size_t len = fake_jwt(tok, sizeof(tok), 1);
    int hit = -1;
    assert_non_null(vcache_get(s->vc, s->ks, &s->pol, (uint8_t *)tok, len, &hit));
    assert_int_equal(hit, 0);
    vcache_get(s->vc, s->ks, &s->pol, (uint8_t *)tok, len, &hit);
    assert_int_equal(hit, 1);

    sensor_keystore_sync(s); /* nothing published: nothing changes, the cache stays */
    vcache_get(s->vc, s->ks, &s->pol, (uint8_t *)tok, len, &hit);
    assert_int_equal(hit, 1);

    struct keystore *old = s->ks;
    assert_int_equal(reload_publish(r, org_store(1)), 1);
    assert_ptr_equal(s->ks, old);               /* the worker switches between packets only */
    assert_int_equal(reload_collect(r), 1);     /* ... so the old store must stay */
    sensor_keystore_sync(s);
    assert_ptr_equal(s->ks, reload_current(r, &g));
    assert_int_equal(s->ks_gen, 1);
    assert_int_equal(tag_of(s->ks), 1);
    assert_int_equal(reload_collect(r), 0);     /* acknowledged: freed */
    vcache_get(s->vc, s->ks, &s->pol, (uint8_t *)tok, len, &hit);
    assert_int_equal(hit, 0);                   /* judged again with the new store */

    sensor_free(s);
    reload_free(r);
    config_free(&cfg);
    snprintf(fn, sizeof(fn), "%s/eve.json", dir);
    unlink(fn);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_ack_collect),
        cmocka_unit_test(test_threads_swap_under_readers),
        cmocka_unit_test(test_reload_now),
        cmocka_unit_test(test_reload_no_usable_key),
        cmocka_unit_test(test_sensor_sync_clears_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
