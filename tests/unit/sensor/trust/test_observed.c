/* test_observed.c — key sets learned from the wire (observed.c) and their EVE `keyset` record
 * (eve_keyset.c): what counts as a JWKS or discovery document, new/unchanged/changed per place,
 * the diff against the configured trust (untrusted, missing, corresponding keyset), eviction at
 * max_sets, that observed keys can sign for nothing, the real Entra/Google snapshots (Storm-0558:
 * a trusted key the IdP no longer publishes), and the record read back with jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "config.h"
#include "eve_keyset.h"
#include "keystore.h"
#include "observed.h"
#include "sensor.h"

/* P-256 public keys made for this test (the private halves were thrown away). */
#define K1_XY "\"x\":\"A4Z1wHdgYyGCnMSjzMqt-wwENjWnEsb3Gb3GFrYy-Eo\"," \
    "\"y\":\"aFXzBb0rXVozJ6hcpS5SAmVLA6TdOTR8CSEhoNxfX0I\""
#define K2_XY "\"x\":\"PAbDvsLEP10uvCL3mC-n_fN37JFuWy3T6NNwTZccYCc\"," \
    "\"y\":\"6-vj7SOKlDdq0DEXTSfcPu32tRX6cRXSC3jDNN5agfQ\""
#define K3_XY "\"x\":\"marae4Po5aiLTGRDjLRwr6t9a9AX0EM7xCqpspVa_uY\"," \
    "\"y\":\"2NmL1WsfwfoJbAKPO_zevUJ781axRpxxtPJ8Ynr3UV8\""
#define K4_XY "\"x\":\"UBCJpW_Hkczc_23CUHmlL9gSpzvag9klyREan-ES9Ng\"," \
    "\"y\":\"mkdFXaSx4ePgdiBu8bm6EikjzkGs79fmvN79CaSvasA\""
#define K5_XY "\"x\":\"XGIS6mNlqw5AmcjzqECam54r0MG63YZ6Mcu_XciDcMI\"," \
    "\"y\":\"wcs5uTAyWl2SsMMhM5D9YWzPkxUBW7L4mTBKAMXoUK4\""
#define EC(kid, xy) "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"" kid "\"," xy "}"
#define EC_ISS(kid, xy, iss) \
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"" kid "\",\"issuer\":\"" iss "\"," xy "}"
#define OCT "{\"kty\":\"oct\",\"kid\":\"sym\",\"k\":\"c2VjcmV0\"}"

#define TS 1685620800000000ull

static int feed(struct observed *o, const struct keystore *ks, const char *host, const char *url,
                const char *body, struct observed_diff *d)
{
    return observed_feed(o, ks, host, url, "application/json", TS, (const uint8_t *)body,
                         strlen(body), d);
}

static int list_has(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

static struct keystore *store_of(const char *name, const char *jwks, const char *issuer)
{
    struct keystore *ks = keystore_new();
    assert_non_null(ks);
    char err[256];
    const char *iss[] = {issuer};
    if (keystore_add_jwks_json(ks, name, jwks, strlen(jwks), iss, issuer ? 1 : 0, err,
                               sizeof(err)) != 0)
        fail_msg("%s", err);
    return ks;
}

static void add_set(struct keystore *ks, const char *name, const char *jwks, const char *issuer)
{
    char err[256];
    const char *iss[] = {issuer};
    if (keystore_add_jwks_json(ks, name, jwks, strlen(jwks), iss, issuer ? 1 : 0, err,
                               sizeof(err)) != 0)
        fail_msg("%s", err);
}

/* ---- shape -------------------------------------------------------------------------------- */

static void test_not_documents(void **state)
{
    (void)state;
    struct observed *o = observed_new(8);
    assert_non_null(o);
    struct observed_diff d;
    static const char *const bodies[] = {
        "",
        "   \r\n\t ",
        "hello",
        "[{\"keys\":[" EC("k1", K1_XY) "]}]",
        " x{\"keys\":[" EC("k1", K1_XY) "]}",
        "{\"foo\":1}",
        "{\"keys\":[\"a\",\"b\"]}",
        "{\"keys\":[{\"kid\":\"k1\"}]}",
        "{\"keys\":{\"kty\":\"EC\"}}",
        "{\"keys\":[]}",
        "{\"issuer\":\"https://idp.example\"}",
        "{\"jwks_uri\":\"https://idp.example/keys\"}",
        "{\"issuer\":1,\"jwks_uri\":\"https://idp.example/keys\"}",
        "{\"issuer\":\"https://idp.example\",\"jwks_uri\":null}",
        "{\"keys\":[" EC("k1", K1_XY) "]",             /* truncated */
        "{\"keys\":[" EC("k1", K1_XY) "]} trailing",  /* not one JSON value */
        "{\"data\":\"\\u00e9\",\"items\":[1,2]}",      /* escapes: parsed, still nothing */
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        if (feed(o, NULL, "idp.example", "/keys", bodies[i], &d) != 0)
            fail_msg("body %zu taken for a document", i);
        assert_null(d.kind);
    }
    assert_int_equal(observed_feed(o, NULL, "idp.example", "/keys", NULL, TS, NULL, 0, &d), 0);
    assert_null(observed_keystore(o));
    /* Leading whitespace and a member name spelled with escapes are still a JWKS. */
    assert_int_equal(feed(o, NULL, "idp.example", "/keys",
                          " \n{\"keys\":[" EC("k1", K1_XY) "]}", &d), 1);
    assert_string_equal(d.kind, "jwks");
    assert_int_equal(feed(o, NULL, "idp.example", "/esc",
                          "{\"\\u006beys\":[" EC("k2", K2_XY) "]}", &d), 1);
    assert_int_equal(d.nkids, 1);
    assert_string_equal(d.kids[0], "k2");
    observed_free(o);
}

/* Every prefix of a JWKS is broken JSON and reports nothing; the whole of it reports once. */
static void test_truncations(void **state)
{
    (void)state;
    const char *body = "{\"keys\":[" EC("k1", K1_XY) "," EC("k2", K2_XY) "]}";
    size_t len = strlen(body);
    struct observed *o = observed_new(4);
    struct observed_diff d;
    for (size_t n = 0; n < len; n++)
        if (observed_feed(o, NULL, "h", "/keys", NULL, TS, (const uint8_t *)body, n, &d) != 0)
            fail_msg("prefix of %zu bytes reported", n);
    assert_int_equal(observed_feed(o, NULL, "h", "/keys", NULL, TS, (const uint8_t *)body, len,
                                   &d), 1);
    assert_int_equal(d.nkids, 2);
    observed_free(o);
}

/* ---- places --------------------------------------------------------------------------------- */

static void test_new_same_changed(void **state)
{
    (void)state;
    struct observed *o = observed_new(8);
    struct observed_diff d;
    const char *a = "{\"keys\":[" EC("k1", K1_XY) "," EC("k2", K2_XY) "]}";
    const char *b = "{\"keys\":[" EC("k1", K1_XY) "," EC("k3", K3_XY) "]}";

    const char *url = "/common/discovery/v2.0/keys?appid=1";
    assert_int_equal(feed(o, NULL, "login.example", url, a, &d), 1);
    assert_string_equal(d.kind, "jwks");
    assert_string_equal(d.host, "login.example");
    assert_string_equal(d.url, "/common/discovery/v2.0/keys");
    assert_int_equal(d.ts_us, TS);
    assert_int_equal(d.changed, 0);
    assert_int_equal(d.nkeys, 2);
    assert_int_equal(d.nkids, 2);
    assert_string_equal(d.kids[0], "k1");
    assert_string_equal(d.kids[1], "k2");
    assert_null(d.issuer);
    assert_null(d.jwks_uri);
    /* No configured trust: everything published is untrusted, nothing corresponds. */
    assert_int_equal(d.nuntrusted, 2);
    assert_null(d.keyset);
    assert_int_equal(d.nmissing, 0);

    /* The same body at the same place (the query does not count) is not news. */
    assert_int_equal(feed(o, NULL, "login.example", "/common/discovery/v2.0/keys", a, &d), 0);
    assert_null(d.kind);
    assert_int_equal(feed(o, NULL, "login.example", "/common/discovery/v2.0/keys#x", a, &d), 0);
    /* Another place is. */
    assert_int_equal(feed(o, NULL, "login2.example", "/common/discovery/v2.0/keys", a, &d), 1);
    assert_int_equal(feed(o, NULL, "login.example", "/other/keys", a, &d), 1);
    assert_int_equal(d.changed, 0);
    /* An error page at a known place changes nothing... */
    assert_int_equal(feed(o, NULL, "login.example", "/common/discovery/v2.0/keys",
                          "{\"error\":\"throttled\"}", &d), 0);
    assert_int_equal(feed(o, NULL, "login.example", "/common/discovery/v2.0/keys", a, &d), 0);
    /* ... a new document there does. */
    assert_int_equal(feed(o, NULL, "login.example", "/common/discovery/v2.0/keys", b, &d), 1);
    assert_int_equal(d.changed, 1);
    assert_string_equal(d.kids[1], "k3");
    assert_int_equal(feed(o, NULL, "login.example", "/common/discovery/v2.0/keys", b, &d), 0);
    /* Going back is a change too. */
    assert_int_equal(feed(o, NULL, "login.example", "/common/discovery/v2.0/keys", a, &d), 1);
    assert_int_equal(d.changed, 1);
    /* NULL host and url are one place, "". */
    assert_int_equal(observed_feed(o, NULL, NULL, NULL, NULL, TS, (const uint8_t *)a, strlen(a),
                                   &d), 1);
    assert_string_equal(d.host, "");
    assert_string_equal(d.url, "");
    assert_int_equal(observed_feed(o, NULL, NULL, NULL, NULL, TS, (const uint8_t *)a, strlen(a),
                                   &d), 0);
    observed_free(o);
}

static void test_eviction(void **state)
{
    (void)state;
    struct observed *o = observed_new(3);
    struct observed_diff d;
    const char *a = "{\"keys\":[" EC("k1", K1_XY) "]}";
    assert_int_equal(feed(o, NULL, "a", "/keys", a, &d), 1);
    assert_int_equal(feed(o, NULL, "b", "/keys", a, &d), 1);
    assert_int_equal(feed(o, NULL, "c", "/keys", a, &d), 1);
    assert_int_equal(feed(o, NULL, "a", "/keys", a, &d), 0);     /* a is now the most recent */
    assert_int_equal(feed(o, NULL, "d", "/keys", a, &d), 1);     /* evicts b */
    const struct keystore *view = observed_keystore(o);
    assert_non_null(view);
    assert_int_equal(view->nsets, 3);
    int seen_a = 0, seen_b = 0;
    for (size_t i = 0; i < view->nsets; i++) {
        seen_a |= strcmp(view->sets[i].name, "observed:a/keys") == 0;
        seen_b |= strcmp(view->sets[i].name, "observed:b/keys") == 0;
        assert_int_equal(view->sets[i].nkeys, 1);
    }
    assert_true(seen_a);
    assert_false(seen_b);
    assert_int_equal(feed(o, NULL, "a", "/keys", a, &d), 0);     /* remembered */
    assert_int_equal(feed(o, NULL, "c", "/keys", a, &d), 0);
    assert_int_equal(feed(o, NULL, "b", "/keys", a, &d), 1);     /* forgotten: new again */
    assert_int_equal(d.changed, 0);
    assert_int_equal(feed(o, NULL, "d", "/keys", a, &d), 1);     /* b evicted d (LRU) */
    /* Many places through a small table, with growth of the table on the way. */
    struct observed *big = observed_new(40);
    char host[32];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 100; i++) {
            snprintf(host, sizeof(host), "h%d", i);
            assert_int_equal(feed(big, NULL, host, "/jwks", a, &d), 1);
        }
    for (int i = 60; i < 100; i++) {
        snprintf(host, sizeof(host), "h%d", i);
        assert_int_equal(feed(big, NULL, host, "/jwks", a, &d), 0);
    }
    assert_int_equal(observed_keystore(big)->nsets, 40);
    observed_free(big);
    /* max_sets 0 still remembers one place. */
    struct observed *one = observed_new(0);
    assert_int_equal(feed(one, NULL, "a", "/k", a, &d), 1);
    assert_int_equal(feed(one, NULL, "a", "/k", a, &d), 0);
    assert_int_equal(feed(one, NULL, "b", "/k", a, &d), 1);
    assert_int_equal(feed(one, NULL, "a", "/k", a, &d), 1);
    observed_free(one);
    observed_free(o);
}

/* ---- the diff ------------------------------------------------------------------------------- */

static void test_diff(void **state)
{
    (void)state;
    struct keystore *trusted =
        store_of("set-a", "{\"keys\":[" EC("k1", K1_XY) "," EC("k2", K2_XY) "]}",
                 "https://a.example");
    add_set(trusted, "set-b", "{\"keys\":[" EC("k3", K3_XY) "]}", "https://b.example");
    struct observed *o = observed_new(8);
    struct observed_diff d;

    /* Shares one key with each set: the tie goes to the first. An oct key counts in `keys` but
     * is not usable, so it has no id. */
    assert_int_equal(feed(o, trusted, "h", "/1",
                          "{\"keys\":[" EC("k1", K1_XY) "," EC("k3", K3_XY) "," OCT ","
                          EC("k5", K5_XY) "]}", &d), 1);
    assert_int_equal(d.nkeys, 4);
    assert_int_equal(d.nkids, 3);
    assert_string_equal(d.keyset, "set-a");
    assert_int_equal(d.nuntrusted, 1);
    assert_string_equal(d.untrusted[0], "k5");
    assert_int_equal(d.nmissing, 1);
    assert_string_equal(d.missing[0], "k2");

    /* Most shared wins over order. */
    add_set(trusted, "set-c", "{\"keys\":[" EC("k4", K4_XY) "," EC("k5", K5_XY) "]}", NULL);
    assert_int_equal(feed(o, trusted, "h", "/2",
                          "{\"keys\":[" EC("k1", K1_XY) "," EC("k4", K4_XY) ","
                          EC("k5", K5_XY) "]}", &d), 1);
    assert_string_equal(d.keyset, "set-c");
    assert_int_equal(d.nuntrusted, 0);
    assert_int_equal(d.nmissing, 0);
    assert_non_null(d.missing);

    /* Keys are matched by their material, whatever they are named: a renamed trusted key is
     * trusted; a trusted key's kid on other material is not, and the real one is missing. */
    assert_int_equal(feed(o, trusted, "h", "/3",
                          "{\"keys\":[" EC("renamed", K1_XY) "," EC("k2", K3_XY) "]}", &d), 1);
    assert_string_equal(d.keyset, "set-a");
    assert_int_equal(d.nuntrusted, 0);  /* K3 material is trusted (set-b) */
    assert_int_equal(d.nmissing, 1);
    assert_string_equal(d.missing[0], "k2");
    struct keystore *only_a =
        store_of("only-a", "{\"keys\":[" EC("k1", K1_XY) "," EC("k2", K2_XY) "]}", NULL);
    assert_int_equal(feed(o, only_a, "h", "/4",
                          "{\"keys\":[" EC("k1", K1_XY) "," EC("k2", K4_XY) "]}", &d), 1);
    assert_int_equal(d.nuntrusted, 1);
    assert_string_equal(d.untrusted[0], "k2");
    assert_int_equal(d.nmissing, 1);
    assert_string_equal(d.missing[0], "k2");
    keystore_free(only_a);

    /* The diff's strings are copies: they outlive the configured store until the next call. */
    struct keystore *tmp = store_of("temporary",
                                    "{\"keys\":[" EC("gone", K2_XY) "," EC("k1", K1_XY) "]}", NULL);
    assert_int_equal(feed(o, tmp, "h", "/5", "{\"keys\":[" EC("k1", K1_XY) "]}", &d), 1);
    keystore_free(tmp);
    assert_string_equal(d.keyset, "temporary");
    assert_int_equal(d.nmissing, 1);
    assert_string_equal(d.missing[0], "gone");
    assert_int_equal(d.nuntrusted, 0);
    /* Nothing shared and no issuer to go by: no corresponding set, nothing missing. */
    assert_int_equal(feed(o, trusted, "h", "/6", "{\"keys\":[" EC("x", K2_XY) "]}", &d), 1);
    assert_string_equal(d.keyset, "set-a"); /* K2 is set-a's k2 */
    struct keystore *unrelated = store_of("unrelated", "{\"keys\":[" EC("u", K4_XY) "]}", NULL);
    assert_int_equal(feed(o, unrelated, "h", "/7", "{\"keys\":[" EC("x", K2_XY) "]}", &d), 1);
    assert_null(d.keyset);
    assert_null(d.missing);
    assert_int_equal(d.nuntrusted, 1);
    keystore_free(unrelated);
    keystore_free(trusted);
    observed_free(o);
}

static void test_diff_by_issuer(void **state)
{
    (void)state;
    const char *tmpl = "https://idp.example/{tenantid}/v2.0";
    struct keystore *trusted = store_of("other", "{\"keys\":[" EC("k5", K5_XY) "]}",
                                        "https://other.example");
    add_set(trusted, "tenant", "{\"keys\":[" EC("k1", K1_XY) "]}", tmpl);
    struct observed *o = observed_new(8);
    struct observed_diff d;
    /* Nothing shared: the set whose issuer is a published key's `issuer`, text for text. */
    assert_int_equal(feed(o, trusted, "idp.example", "/keys",
                          "{\"keys\":[" EC_ISS("k2", K2_XY, "https://idp.example/{tenantid}/v2.0")
                          "]}", &d), 1);
    assert_string_equal(d.keyset, "tenant");
    assert_int_equal(d.nmissing, 1);
    assert_string_equal(d.missing[0], "k1");
    assert_int_equal(d.nuntrusted, 1);
    /* A substituted tenant is another text: no match. */
    assert_int_equal(feed(o, trusted, "idp.example", "/keys2",
                          "{\"keys\":[" EC_ISS("k2", K2_XY,
                          "https://idp.example/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0") "]}",
                          &d), 1);
    assert_null(d.keyset);
    assert_null(d.missing);
    keystore_free(trusted);
    observed_free(o);
}

/* A key's id: kid, else x5t, else its RFC 7638 thumbprint. */
static void test_key_ids(void **state)
{
    (void)state;
    struct observed *o = observed_new(8);
    struct observed_diff d;
    assert_int_equal(feed(o, NULL, "h", "/k",
                          "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x5t\":\"thumb\"," K1_XY
                          "},{\"kty\":\"EC\",\"crv\":\"P-256\"," K2_XY "}]}", &d), 1);
    assert_int_equal(d.nkids, 2);
    assert_string_equal(d.kids[0], "thumb");
    assert_int_equal(strlen(d.kids[1]), 43);
    assert_int_equal(strspn(d.kids[1], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789-_"), 43);
    observed_free(o);
}

static void test_discovery(void **state)
{
    (void)state;
    struct observed *o = observed_new(8);
    struct observed_diff d;
    const char *doc = "{\"issuer\":\"https://accounts.example\",\"authorization_endpoint\":"
                      "\"https://accounts.example/auth\",\"jwks_uri\":"
                      "\"https://accounts.example/oauth2/v3/certs\",\"keys\":[1]}";
    assert_int_equal(feed(o, NULL, "accounts.example", "/.well-known/openid-configuration", doc,
                          &d), 1);
    assert_string_equal(d.kind, "openid-configuration");
    assert_string_equal(d.issuer, "https://accounts.example");
    assert_string_equal(d.jwks_uri, "https://accounts.example/oauth2/v3/certs");
    assert_int_equal(d.nkeys, 0);
    assert_null(d.kids);
    assert_null(d.untrusted);
    assert_null(d.keyset);
    assert_int_equal(feed(o, NULL, "accounts.example", "/.well-known/openid-configuration", doc,
                          &d), 0);
    /* Discovery documents hold no keys: no observed key store yet. */
    assert_null(observed_keystore(o));
    observed_free(o);
}

/* Observed keys can be found but can sign for nothing: they are never trusted. */
static void test_observed_keystore_trusts_nothing(void **state)
{
    (void)state;
    struct observed *o = observed_new(8);
    struct observed_diff d;
    const char *iss = "https://idp.example/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0";
    assert_int_equal(feed(o, NULL, "idp.example", "/keys",
                          "{\"keys\":[" EC_ISS("k1", K1_XY, "https://idp.example/{tenantid}/v2.0")
                          "," EC("k2", K2_XY) "]}", &d), 1);
    const struct keystore *view = observed_keystore(o);
    assert_non_null(view);
    assert_int_equal(view->nsets, 1);
    assert_string_equal(view->sets[0].name, "observed:idp.example/keys");
    assert_int_equal(view->sets[0].nissuers, 0);
    assert_int_equal(view->nrevoked, 0);
    const struct ks_key *found[4];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(keystore_find(view, i ? "k2" : "k1", NULL, NULL, found, 4), 1);
        assert_false(keystore_key_allows(view, found[0], iss,
                                         "72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert_false(keystore_key_allows(view, found[0], "https://idp.example", NULL));
        assert_false(keystore_key_allows(view, found[0], NULL, NULL));
    }
    assert_false(keystore_issuer_trusted(view, iss, NULL));
    assert_false(keystore_issuer_trusted(view, "https://idp.example", NULL));
    observed_free(o);
}

/* ---- the real identity-provider documents ---------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static char *snap(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/keys/%s", TW_SHARED_DIR, name);
    return slurp(path, len);
}

static int have_snapshots(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/keys/idp-snapshots/entra-common.jwks.json", TW_SHARED_DIR);
    if (access(path, R_OK) == 0)
        return 1;
    print_message("skipped: %s/keys/idp-snapshots not present\n", TW_SHARED_DIR);
    return 0;
}

#define ENTRA_TMPL "https://login.microsoftonline.com/{tenantid}/v2.0"
#define MSA_ISS "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
#define STORM_KID "1LTMzakihiRla_8z2BEJVXeWMqo"

static void test_entra_common_vs_organizations(void **state)
{
    (void)state;
    if (!have_snapshots())
        skip();
    size_t clen, olen;
    char *common = snap("idp-snapshots/entra-common.jwks.json", &clen);
    char *orgs = snap("idp-snapshots/entra-organizations.jwks.json", &olen);
    assert_non_null(common);
    assert_non_null(orgs);
    struct keystore *trusted = store_of("entra-organizations", orgs, ENTRA_TMPL);
    struct observed *o = observed_new(16);
    struct observed_diff d;
    const char *host = "login.microsoftonline.com", *url = "/common/discovery/v2.0/keys";
    assert_int_equal(observed_feed(o, trusted, host, url, "application/json", TS,
                                   (const uint8_t *)common, clen, &d), 1);
    assert_int_equal(d.nkeys, 7);
    assert_int_equal(d.nkids, 7);
    assert_string_equal(d.keyset, "entra-organizations");
    /* The consumer tenant's keys are published at /common but not in the organizations set. */
    assert_int_equal(d.nuntrusted, 2);
    assert_true(list_has(d.untrusted, d.nuntrusted, "8IIDH6M8c3cXoeojKme8Jvqsr2Y"));
    assert_true(list_has(d.untrusted, d.nuntrusted, "iE89_EVhreMiV2-8rKE2zWBUm3M"));
    assert_int_equal(d.nmissing, 1);
    assert_string_equal(d.missing[0], "Fdkuxg4kKVKOWUdliHLR1HArDmg");
    assert_int_equal(d.changed, 0);
    /* Fetched again: nothing new. */
    assert_int_equal(observed_feed(o, trusted, host, url, "application/json", TS + 1,
                                   (const uint8_t *)common, clen, &d), 0);
    /* The document at that place changes. */
    assert_int_equal(observed_feed(o, trusted, host, url, "application/json", TS + 2,
                                   (const uint8_t *)orgs, olen, &d), 1);
    assert_int_equal(d.changed, 1);
    assert_int_equal(d.nuntrusted, 0);
    assert_int_equal(d.nmissing, 0);

    /* Google's keys share nothing with Entra's and name no issuer. */
    size_t glen;
    char *google = snap("idp-snapshots/google.jwks.json", &glen);
    assert_non_null(google);
    assert_int_equal(observed_feed(o, trusted, "www.googleapis.com", "/oauth2/v3/certs", NULL, TS,
                                   (const uint8_t *)google, glen, &d), 1);
    assert_null(d.keyset);
    assert_int_equal(d.nuntrusted, 2);
    assert_int_equal(d.nkids, 2);
    free(google);

    size_t dlen;
    char *disc = snap("idp-snapshots/entra-common.openid-configuration.json", &dlen);
    assert_non_null(disc);
    assert_int_equal(observed_feed(o, trusted, host,
                                   "/common/v2.0/.well-known/openid-configuration", NULL, TS,
                                   (const uint8_t *)disc, dlen, &d), 1);
    assert_string_equal(d.kind, "openid-configuration");
    assert_string_equal(d.issuer, ENTRA_TMPL);
    assert_string_equal(d.jwks_uri, "https://login.microsoftonline.com/common/discovery/v2.0/keys");
    free(disc);
    free(common);
    free(orgs);
    keystore_free(trusted);
    observed_free(o);
}

/* Storm-0558: the configured trust still holds the 2016 consumer key that Microsoft removed in
 * July 2023; the live document no longer publishes it, so it is reported missing. */
static void test_storm_0558_missing(void **state)
{
    (void)state;
    if (!have_snapshots())
        skip();
    size_t klen, clen;
    char *k = snap("indicators/storm-0558-msa-2016.jwk.json", &klen);
    char *common = snap("idp-snapshots/entra-common.jwks.json", &clen);
    assert_non_null(k);
    assert_non_null(common);
    struct observed_diff d;

    /* 1. The old key alone as a consumer keyset: found through the published keys' issuer. */
    size_t wlen = klen + 32;
    char *wrapped = malloc(wlen);
    assert_non_null(wrapped);
    snprintf(wrapped, wlen, "{\"keys\":[%s]}", k);
    struct keystore *trusted = store_of("msa-2016", wrapped, MSA_ISS);
    struct observed *o = observed_new(4);
    assert_int_equal(observed_feed(o, trusted, "login.microsoftonline.com",
                                   "/common/discovery/v2.0/keys", NULL, TS,
                                   (const uint8_t *)common, clen, &d), 1);
    assert_string_equal(d.keyset, "msa-2016");
    assert_int_equal(d.nmissing, 1);
    assert_string_equal(d.missing[0], STORM_KID);
    assert_int_equal(d.nuntrusted, 7);
    keystore_free(trusted);
    observed_free(o);

    /* 2. An old snapshot: today's keys plus K. Matched by shared keys; only K is missing. */
    json_error_t jerr;
    json_t *old = json_loads(common, 0, &jerr);
    json_t *kj = json_loads(k, 0, &jerr);
    assert_non_null(old);
    assert_non_null(kj);
    json_array_append_new(json_object_get(old, "keys"), kj);
    char *olds = json_dumps(old, 0);
    json_decref(old);
    trusted = store_of("entra-common-2023", olds, ENTRA_TMPL);
    o = observed_new(4);
    assert_int_equal(observed_feed(o, trusted, "login.microsoftonline.com",
                                   "/common/discovery/v2.0/keys", NULL, TS,
                                   (const uint8_t *)common, clen, &d), 1);
    assert_string_equal(d.keyset, "entra-common-2023");
    assert_int_equal(d.nuntrusted, 0);
    assert_int_equal(d.nmissing, 1);
    assert_string_equal(d.missing[0], STORM_KID);
    keystore_free(trusted);
    observed_free(o);
    free(olds);
    free(wrapped);
    free(common);
    free(k);
}

/* ---- the EVE record ------------------------------------------------------------------------- */

struct run {
    char dir[64], path[128];
    struct config cfg;
    struct sensor *s;
};

static void run_start(struct run *r, const char *types)
{
    snprintf(r->dir, sizeof(r->dir), "/tmp/tw-observed-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->path, sizeof(r->path), "%s/eve.json", r->dir);
    char fn[200];
    snprintf(fn, sizeof(fn), "outputs.eve.filename=%s", r->path);
    const char *sets[] = {fn, types};
    char err[512];
    config_defaults(&r->cfg);
    if (config_load(&r->cfg, NULL, sets, 2, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    int code;
    r->s = sensor_new(&r->cfg, r->dir, err, sizeof(err), &code);
    if (!r->s)
        fail_msg("%s", err);
    sensor_set_pcap(r->s, "unit.pcap");
}

/* Ends the run; returns every record of the given event_type, in order. */
static json_t *run_finish(struct run *r, const char *type)
{
    sensor_finish(r->s);
    sensor_free(r->s);
    config_free(&r->cfg);
    json_t *all = json_array();
    FILE *f = fopen(r->path, "r");
    if (f) {
        char line[65536];
        while (fgets(line, sizeof(line), f)) {
            json_error_t e;
            json_t *rec = json_loads(line, 0, &e);
            if (!rec)
                fail_msg("bad EVE line: %s (%s)", line, e.text);
            if (strcmp(json_string_value(json_object_get(rec, "event_type")), type) == 0)
                json_array_append(all, rec);
            json_decref(rec);
        }
        fclose(f);
        unlink(r->path);
    }
    rmdir(r->dir);
    return all;
}

static const char *jstr(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_string_value(v);
}

static void test_record(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, "outputs.eve.types=[keyset]");
    static const char *const kids[] = {"k1", "k2\"quoted", "k3"};
    static const char *const untrusted[] = {"k3"};
    static const char *const missing[] = {STORM_KID};
    struct observed_diff jw = {.kind = "jwks", .host = "login.example", .url = "/keys",
                               .ts_us = TS, .nkeys = 4, .kids = kids, .nkids = 3,
                               .keyset = "msa", .untrusted = untrusted, .nuntrusted = 1,
                               .missing = missing, .nmissing = 1, .changed = 1};
    struct eve_http h = {.hostname = "login.example", .url = "/keys?x=1", .method = "GET",
                         .protocol = "HTTP/1.1", .content_type = "application/json",
                         .status = 200, .length = 1234, .has_length = 1};
    eve_write_keyset(&r.s->eve, NULL, NULL, TS, 3, &h, &jw);

    /* A discovery document: no key members at all. */
    struct observed_diff disc = {.kind = "openid-configuration", .host = "a.example",
                                 .url = "/.well-known/openid-configuration", .ts_us = TS,
                                 .issuer = "https://a.example", .jwks_uri = "https://a.example/k"};
    eve_write_keyset(&r.s->eve, NULL, NULL, TS + 1, 0, NULL, &disc);

    /* With a flow: the common flow fields, src = the client. */
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.key.ip_version = 4;
    f.key.proto = 6;
    memcpy(f.key.addr[0], "\x0a\x00\x00\x01", 4);
    memcpy(f.key.addr[1], "\x0a\x00\x00\x02", 4);
    f.key.port[0] = 80;
    f.key.port[1] = 40000;
    f.client = 1;
    f.flow_id = 77;
    struct eve_prefix pfx;
    memset(&pfx, 0, sizeof(pfx));
    struct observed_diff empty = {.kind = "jwks", .host = "h", .url = "/k", .nkeys = 1,
                                  .kids = kids, .nkids = 0, .untrusted = untrusted,
                                  .nuntrusted = 0};
    eve_write_keyset(&r.s->eve, &f, &pfx, TS + 2, 9, &h, &empty);
    eve_prefix_release(&pfx);

    json_t *recs = run_finish(&r, "keyset");
    assert_int_equal(json_array_size(recs), 3);

    json_t *a = json_array_get(recs, 0);
    assert_string_equal(jstr(a, "timestamp", NULL), "2023-06-01T12:00:00.000000+0000");
    assert_null(json_object_get(a, "flow_id"));
    assert_string_equal(jstr(a, "http", "hostname"), "login.example");
    assert_string_equal(jstr(a, "http", "url"), "/keys?x=1");
    json_t *http = json_object_get(a, "http");
    assert_int_equal(json_integer_value(json_object_get(http, "status")), 200);
    json_t *ks = json_object_get(a, "keyset");
    assert_string_equal(jstr(ks, "kind", NULL), "jwks");
    assert_null(json_object_get(ks, "issuer"));
    assert_null(json_object_get(ks, "jwks_uri"));
    assert_int_equal(json_integer_value(json_object_get(ks, "keys")), 4);
    assert_int_equal(json_array_size(json_object_get(ks, "kids")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(ks, "kids"), 1)),
                        "k2\"quoted");
    assert_string_equal(jstr(ks, "configured_keyset", NULL), "msa");
    assert_string_equal(json_string_value(json_array_get(json_object_get(ks, "untrusted"), 0)),
                        "k3");
    assert_string_equal(json_string_value(json_array_get(json_object_get(ks, "missing"), 0)),
                        STORM_KID);
    assert_true(json_is_true(json_object_get(ks, "changed")));

    json_t *b = json_array_get(recs, 1);
    assert_null(json_object_get(b, "http"));
    ks = json_object_get(b, "keyset");
    assert_string_equal(jstr(ks, "kind", NULL), "openid-configuration");
    assert_string_equal(jstr(ks, "issuer", NULL), "https://a.example");
    assert_string_equal(jstr(ks, "jwks_uri", NULL), "https://a.example/k");
    assert_true(json_is_false(json_object_get(ks, "changed")));
    assert_int_equal(json_object_size(ks), 4); /* kind, issuer, jwks_uri, changed */

    json_t *c = json_array_get(recs, 2);
    assert_int_equal(json_integer_value(json_object_get(c, "flow_id")), 77);
    assert_int_equal(json_integer_value(json_object_get(c, "tx_id")), 9);
    assert_string_equal(jstr(c, "src_ip", NULL), "10.0.0.2");
    assert_int_equal(json_integer_value(json_object_get(c, "src_port")), 40000);
    assert_string_equal(jstr(c, "dest_ip", NULL), "10.0.0.1");
    ks = json_object_get(c, "keyset");
    assert_int_equal(json_array_size(json_object_get(ks, "kids")), 0);
    assert_int_equal(json_array_size(json_object_get(ks, "untrusted")), 0);
    assert_null(json_object_get(ks, "missing"));
    assert_null(json_object_get(ks, "configured_keyset"));
    json_decref(recs);

    /* Outputs without the keyset type get nothing. */
    run_start(&r, "outputs.eve.types=[alert, token, http]");
    eve_write_keyset(&r.s->eve, NULL, NULL, TS, 0, &h, &jw);
    recs = run_finish(&r, "keyset");
    assert_int_equal(json_array_size(recs), 0);
    json_decref(recs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_documents),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_new_same_changed),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_diff_by_issuer),
        cmocka_unit_test(test_key_ids),
        cmocka_unit_test(test_discovery),
        cmocka_unit_test(test_observed_keystore_trusts_nothing),
        cmocka_unit_test(test_entra_common_vs_organizations),
        cmocka_unit_test(test_storm_0558_missing),
        cmocka_unit_test(test_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
