/* testkeys.c — the table of keys whose private halves are published (see testkeys.h).
 *
 * Not on any packet path: read by the `keys` commands. Owns a static table. Each row is the
 * RFC 7638 thumbprint (base64url SHA-256 of the key's required members) of one key of
 * tests/gen/make_keys.py's KEYS, as its Key().jwk gives it; the attacker key is in no demo key
 * set but is published all the same. A new TEST-ONLY key gets its row here: the e2e test
 * e2e_keys_cli fails until it has.
 */
#include "testkeys.h"

#include <stddef.h>
#include <string.h>

static const struct {
    const char *jkt, *source;
} testkeys[] = {
    {"h5y-WTncNJduBBJNMZqX43SVQ91ilELhtsAqBW7CpwM", "tests/gen/keys/TEST-ONLY-org-1.key.pem"},
    {"ERcqARrE5sWClwgy0TE9a8fhQlFvNJPYGvV5aQsm_-k", "tests/gen/keys/TEST-ONLY-org-2.key.pem"},
    {"0FR8593ATot1XCwBRpli2O7UaTfvtS_XewguG06Aw_Q", "tests/gen/keys/TEST-ONLY-org-expired.key.pem"},
    {"QqHNnUUGAFZaGl2s337xdPN0GkXIwzGjOuzQpo03bKw", "tests/gen/keys/TEST-ONLY-consumers-1.key.pem"},
    {"2WK7n1SuJoomEG4dLUWgnr7j_wXStysQ3baLkEfjip0", "tests/gen/keys/TEST-ONLY-idp-es256.key.pem"},
    {"qvvWLzQPW0R5Xs3DgkhHBwLt0YXRgiAv5Ov6CKG-irI", "tests/gen/keys/TEST-ONLY-idp-es384.key.pem"},
    {"CyObUVDsUKQ7hj-xxxbiJL1mCBEQW2ekTAVG7UDq-mc", "tests/gen/keys/TEST-ONLY-idp-ed25519.key.pem"},
    {"kwavTu8ho_1fGjo80vxvQitItsL1xJMvrNA9c130ytg", "tests/gen/keys/TEST-ONLY-idp-ps256.key.pem"},
    {"UywBOOXbUqsdWAyI_zGgUyP_qVijHtCrwfn3IYNSAHE", "tests/gen/keys/TEST-ONLY-attacker.key.pem"},
    /* Example keys whose private halves are printed in the RFCs (copied into libraries' tests
     * and tutorials, and so into careless deployments): RFC 7520's "bilbo.baggins" keys and
     * RFC 8037's Ed25519 key (its A.3 gives this very thumbprint). */
    {"dHri3SADZkrush5HU_50AoRhcKFryN-PI6jPBtPL55M", "RFC 7520 section 3.2 (EC P-521)"},
    {"9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI", "RFC 7520 section 3.4 (RSA)"},
    {"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", "RFC 8037 appendix A.1 (Ed25519)"},
};

const char *testkey_source(const char *jkt)
{
    if (!jkt)
        return NULL;
    for (size_t i = 0; i < sizeof(testkeys) / sizeof(testkeys[0]); i++)
        if (strcmp(testkeys[i].jkt, jkt) == 0)
            return testkeys[i].source;
    return NULL;
}
