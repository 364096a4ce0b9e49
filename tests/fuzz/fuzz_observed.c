/* fuzz_observed.c — libFuzzer entry point for key sets learned from the wire: observed_feed() on
 * arbitrary bytes as a response body (cheap rejection, jansson, the key store's JWKS loader, the
 * diff against a configured store), fed again unchanged, changed, and at more places than the
 * table keeps, then the observed store walked as a verdict would (it must trust nothing). */
#include <stdint.h>
#include <string.h>

#include "observed.h"

#define EC_K1 \
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k1\"," \
    "\"issuer\":\"https://idp.example/{tenantid}/v2.0\"," \
    "\"x\":\"A4Z1wHdgYyGCnMSjzMqt-wwENjWnEsb3Gb3GFrYy-Eo\"," \
    "\"y\":\"aFXzBb0rXVozJ6hcpS5SAmVLA6TdOTR8CSEhoNxfX0I\"}"

static void walk(const struct keystore *view)
{
    if (!view)
        return;
    for (size_t i = 0; i < view->nsets; i++)
        for (size_t k = 0; k < view->sets[i].nkeys; k++) {
            const struct ks_key *key = &view->sets[i].keys[k];
            const struct ks_key *found[4];
            keystore_find(view, key->kid, key->x5t, key->x5t256, found, 4);
            /* Observed keys are loaded with no issuers: they may sign for nothing. */
            if (keystore_key_allows(view, key, key->issuer, NULL) ||
                keystore_key_allows(view, key, "https://idp.example", NULL))
                __builtin_trap();
        }
}

static void check(const struct observed_diff *d)
{
    /* Every string of the diff must be readable. */
    size_t n = 0;
    for (size_t i = 0; i < d->nkids; i++)
        n += strlen(d->kids[i]);
    for (size_t i = 0; i < d->nuntrusted; i++)
        n += strlen(d->untrusted[i]);
    for (size_t i = 0; i < d->nmissing; i++)
        n += strlen(d->missing[i]);
    n += strlen(d->kind) + strlen(d->host) + strlen(d->url);
    n += d->issuer ? strlen(d->issuer) : 0;
    n += d->jwks_uri ? strlen(d->jwks_uri) : 0;
    n += d->keyset ? strlen(d->keyset) : 0;
    if (d->nkids > d->nkeys || d->nuntrusted > d->nkids)
        __builtin_trap();
    (void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const iss[] = {"https://idp.example/{tenantid}/v2.0"};
    static const char conf[] = "{\"keys\":[" EC_K1 "]}";
    struct keystore *trusted = keystore_new();
    struct observed *o = observed_new(2);
    char err[256];
    if (!trusted || !o ||
        keystore_add_jwks_json(trusted, "conf", conf, sizeof(conf) - 1, iss, 1, err, sizeof(err)))
        goto out;
    struct observed_diff d;
    int first = observed_feed(o, trusted, "idp.example", "/keys?x", "application/json", 1, data,
                              size, &d);
    if (first)
        check(&d);
    /* The same body at the same place is never news. */
    if (observed_feed(o, trusted, "idp.example", "/keys", NULL, 2, data, size, &d))
        __builtin_trap();
    walk(observed_keystore(o));
    if (size && observed_feed(o, trusted, "idp.example", "/keys", NULL, 3, data, size - 1, &d)) {
        if (d.changed != first)
            __builtin_trap();
        check(&d);
    }
    /* More places than the table keeps: the oldest is forgotten. */
    static const char *const hosts[] = {"a.example", "b.example", "c.example"};
    for (int i = 0; i < 3; i++)
        if (observed_feed(o, NULL, hosts[i], "/jwks", NULL, 4, data, size, &d))
            check(&d);
    walk(observed_keystore(o));
out:
    observed_free(o);
    keystore_free(trusted);
    return 0;
}
