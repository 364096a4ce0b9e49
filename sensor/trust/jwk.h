/* jwk.h — one JSON Web Key (RFC 7517) turned into a key-store entry. Internal to the key store:
 * keystore.c walks a JWKS document and hands each member of "keys" here.
 */
#ifndef TW_JWK_H
#define TW_JWK_H

#include <jansson.h>

#include "keystore_key.h"

enum jwk_result {
    JWK_LOADED = 0,  /* *out filled; the caller owns it (free with jwk_key_clear) */
    JWK_SKIPPED = 1, /* not usable as a signature-verification key; why names the reason */
    JWK_NOMEM = -1,  /* allocation failure */
};

/* Builds a key from one JWK object. On JWK_LOADED every string and the EVP_PKEY in *out are
 * heap-owned by *out (out->set is left NULL for the caller); on any other result *out holds
 * nothing to free. `why` receives a short reason on JWK_SKIPPED, and on JWK_LOADED the notes
 * on what was ignored or accepted leniently ("; "-separated; "" when none): an `alg` that is
 * not a registered JOSE algorithm (dropped), n/e/x/y in standard or padded base64. */
int jwk_to_key(json_t *jwk, struct ks_key *out, char *why, size_t whylen);

/* Frees what jwk_to_key() put in *k and zeroes it. */
void jwk_key_clear(struct ks_key *k);

#endif
