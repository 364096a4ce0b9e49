/* verify.h — JWS signature verification with OpenSSL EVP (RFC 7518 §3.3 RS*, §3.4 ES* with raw
 * r‖s signatures, §3.5 PS*; RFC 8037 §3.1 EdDSA over Ed25519 or Ed448; RFC 9864 "Ed25519" and
 * "Ed448").
 *
 * Pipeline: verdict stage. The key decides the algorithm (RFC 8725 §3.1): a header alg that does
 * not fit the key's type/curve/size is never tried; `none` and HS* never verify. verify_jws() is
 * stateless and borrows the EVP_PKEY; verify_jws_ctx() gives the same answers through a worker's
 * cache of pre-initialised OpenSSL contexts.
 */
#ifndef TW_VERIFY_H
#define TW_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

enum verify_status {
    VERIFY_VALID = 0,
    VERIFY_INVALID = 1,      /* the key does not verify this signature over this input */
    VERIFY_ALG_MISMATCH = 2, /* alg does not fit the key (or is none, HS-anything, unknown) */
};

/* Does JOSE alg fit this key? RS256/384/512 and PS256/384/512 need RSA (PS* also an RSA-PSS
 * key); ES256 P-256, ES384 P-384, ES512 P-521; EdDSA an Ed25519 or Ed448 key; Ed25519 / Ed448
 * (RFC 9864) that curve only. `key_alg` is the JWK's own `alg` member (NULL if none): when set,
 * alg must equal it. */
int verify_alg_fits(EVP_PKEY *pkey, const char *key_alg, const char *alg);

/* Verifies sig over msg with pkey under alg. ECDSA signatures must be exactly 2×field-size raw
 * r‖s bytes (a DER signature is invalid). PSS uses MGF1 with the same hash and salt = hash size.
 * EdDSA is pure (no prehash, empty context): 64-byte Ed25519, 114-byte Ed448 signatures.
 * Returns enum verify_status; leaves nothing on OpenSSL's error queue. */
int verify_jws(EVP_PKEY *pkey, const char *key_alg, const char *alg, const uint8_t *msg,
               size_t msglen, const uint8_t *sig, size_t siglen);

/* One worker's pre-initialised verification contexts, keyed by (EVP_PKEY, alg): the OpenSSL
 * algorithm fetch and verify-init are done once per key and algorithm, not per token. Bounded
 * (max entries; the least recently used is dropped when full). Never shared between threads (the
 * keys themselves are immutable and may be shared). Each context holds a reference to its
 * EVP_PKEY, so a key-store swap cannot leave a dangling one; verify_ctxs_clear() on the swap
 * releases the old keys at once. */
struct verify_ctxs;
/* NULL on no memory; max 0 is taken as 1. */
struct verify_ctxs *verify_ctxs_new(size_t max);
/* Forgets every context and drops its key references. */
void verify_ctxs_clear(struct verify_ctxs *vx);
void verify_ctxs_free(struct verify_ctxs *vx);
/* Number of (key, alg) contexts held (≤ max). */
size_t verify_ctxs_count(const struct verify_ctxs *vx);

/* As verify_jws(), through vx's contexts (vx NULL: exactly verify_jws). Same results for every
 * input; builds the (pkey, alg) context on first use (only when the key fits alg; when OpenSSL
 * will not build one, falls back to verify_jws). Takes a reference to pkey while cached. */
int verify_jws_ctx(struct verify_ctxs *vx, EVP_PKEY *pkey, const char *key_alg, const char *alg,
                   const uint8_t *msg, size_t msglen, const uint8_t *sig, size_t siglen);

/* SHA-256 of a token tok[0..len) into md (its identity: EVE token.sha256, the replay key),
 * through vx's kept context (vx NULL: a one-off EVP_Digest). When 0 < prefix <= len, tok's
 * first `prefix` bytes are its JWS signing input: their SHA-256 comes out of the same pass and
 * is remembered, and verify_jws_ctx() on exactly (tok, prefix) with a SHA-256 algorithm (RS256,
 * PS256, ES256) uses it instead of hashing the bytes again, whatever keys are tried, until
 * verify_forget_digest(), which the caller must call before tok's bytes may change (the memo
 * is matched by address and length). 0, or -1 when OpenSSL fails. */
int verify_token_digest(struct verify_ctxs *vx, const uint8_t *tok, size_t len, size_t prefix,
                        uint8_t md[32]);
void verify_forget_digest(struct verify_ctxs *vx);

#endif
