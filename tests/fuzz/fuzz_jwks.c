/* fuzz_jwks.c — libFuzzer entry point for JWKS loading: keystore_add_jwks_json() (jwk.c key
 * building: RSA/EC/Ed25519/Ed448, use/key_ops, x5c certificates and subjects, thumbprints, the
 * refused-key records) on arbitrary bytes, then the lookups the verdict stage runs against
 * whatever loaded: kid/x5t/x5t#S256 lookup, revocation, issuer scope with the Entra clouds'
 * v1/v2 equivalence, Entra issuer recognition. */
#include <stdint.h>
#include <string.h>

#include "keystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct keystore *ks = keystore_new();
    if (!ks)
        return 0;
    static const char *const iss[] = {"https://login.microsoftonline.com/{tenantid}/v2.0",
                                      "https://sts.windows.net/{tenantid}/",
                                      "https://issuer.example"};
    char err[256];
    const char *tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const char *ent = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0";
    const char *ent_v1 = "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/";
    keystore_add_revoked(ks, "revoked-kid", NULL, "d4b4cccda9228624656bff33d8110955779632aa",
                         NULL, "fuzz");
    keystore_add_cloud(ks, "https://sts.windows.net/", "https://login.microsoftonline.com/");
    keystore_add_cloud(ks, "https://sts.windows.net/", "https://login.microsoftonline.us/");
    if (keystore_add_jwks_json(ks, "fuzz", (const char *)data, size, iss, 3, err,
                               sizeof(err)) == 0) {
        static const char *const aud[] = {"api://fuzz"};
        keystore_set_expectations(ks, "fuzz", aud, 1, NULL, 0);
        size_t chars = 0;
        for (size_t i = 0; i < ks->nsets; i++) {
            const struct ks_keyset *set = &ks->sets[i];
            for (size_t s = 0; s < set->nskips; s++)
                chars += strlen(set->skips[s].kid) + strlen(set->skips[s].why);
            for (size_t k = 0; k < set->nkeys; k++) {
                const struct ks_key *key = &set->keys[k];
                char buf[128];
                const struct ks_key *found[4];
                const char *seg;
                size_t seglen;
                keystore_find(ks, key->kid, key->x5t, key->x5t256, found, 4);
                keystore_find(ks, NULL, NULL, key->x5t256, found, 4);
                keystore_revoked(ks, key, key->kid, key->x5t);
                keystore_key_allows(ks, key, ent, tid);
                keystore_key_allows(ks, key, ent_v1, tid);
                keystore_key_allows(ks, key, key->issuer, tid);
                keystore_key_issuer(key, tid, buf, sizeof(buf));
                keystore_entra_issuer(ks, key->issuer, &seg, &seglen);
                if (key->subject)
                    chars += strlen(key->subject);
            }
        }
        (void)chars;
    }
    keystore_free(ks);
    return 0;
}
