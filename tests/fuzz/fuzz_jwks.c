/* fuzz_jwks.c — libFuzzer entry point for JWKS loading: keystore_add_jwks_json() (jwk.c key
 * building, x5c certificates, thumbprints) on arbitrary bytes, then the lookups the verdict
 * stage runs against whatever loaded. */
#include <stdint.h>

#include "keystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct keystore *ks = keystore_new();
    if (!ks)
        return 0;
    static const char *const iss[] = {"https://login.microsoftonline.com/{tenantid}/v2.0",
                                      "https://issuer.example"};
    char err[256];
    const char *tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const char *ent = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0";
    keystore_add_revoked(ks, "revoked-kid", NULL, "d4b4cccda9228624656bff33d8110955779632aa",
                         NULL, "fuzz");
    if (keystore_add_jwks_json(ks, "fuzz", (const char *)data, size, iss, 2, err,
                               sizeof(err)) == 0) {
        for (size_t i = 0; i < ks->nsets; i++)
            for (size_t k = 0; k < ks->sets[i].nkeys; k++) {
                const struct ks_key *key = &ks->sets[i].keys[k];
                char buf[128];
                const struct ks_key *found[4];
                keystore_find(ks, key->kid, key->x5t, key->x5t256, found, 4);
                keystore_revoked(ks, key, key->kid, key->x5t);
                keystore_key_allows(ks, key, ent, tid);
                keystore_key_allows(ks, key, key->issuer, tid);
                keystore_key_issuer(key, tid, buf, sizeof(buf));
            }
    }
    keystore_free(ks);
    return 0;
}
