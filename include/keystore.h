/* keystore.h — trusted signing keys, grouped in keysets, and the revoked-key indicators.
 *
 * Pipeline: verdict stage (keystore ─► verify ─► policy). Built once at start-up from JWKS
 * files (RFC 7517) named by the configuration; a reload builds a new store and swaps it in whole.
 * Owns every EVP_PKEY and string it holds; keystore_free() releases all of it.
 * RFC 7517 §4 (JWK members), RFC 7518 §6 (RSA, EC key parameters), RFC 8037 §2 (OKP Ed25519),
 * RFC 7638 (JWK thumbprint), RFC 5280 §4.1.2.5 (certificate validity), RFC 7515 §4.1.7 (x5t).
 */
#ifndef TW_KEYSTORE_H
#define TW_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "keystore_key.h"

struct ks_keyset {
    const char *name;
    const char **issuers;   /* literal issuers or templates with "{tenantid}"; "*" = any issuer */
    size_t nissuers;
    struct ks_key *keys;
    size_t nkeys;
    size_t skipped;         /* JWKs not loaded (unsupported kty/crv, oct keys, broken members,
                               use other than "sig", key_ops without "verify", RSA < 2048 bits) */
    struct ks_skip *skips;  /* why each was not loaded (nskips == skipped), for start-up warnings */
    size_t nskips;
    /* Optional expectations (keysets[].audiences / token-types); NULL/0 = no expectation. */
    const char **audiences;
    size_t naudiences;
    const char **types;
    size_t ntypes;
    int64_t max_lifetime;   /* keysets[].max-lifetime, seconds; 0 = policy.max-lifetime */
    /* Notes on keys that were loaded (a member ignored, a lenient encoding accepted), for
     * start-up and check-token lines like the refusals; kid (or "#N") and what was noted. */
    struct ks_skip *notes;
    size_t nnotes;
};

/* A JWK the store refused: its kid (or "#N", its index in "keys") and the reason. */
struct ks_skip {
    char *kid;
    char *why;
};

/* An Entra cloud: v1 issuer prefix ("https://sts.windows.net/") and v2 prefix
 * ("https://login.microsoftonline.com/"). */
struct ks_cloud {
    char *v1, *v2;
};

struct ks_revoked {
    const char *kid, *x5t, *sha1, *jkt; /* any may be NULL; sha1 normalised to lower-case hex */
    const char *reason;
};

struct keystore {
    struct ks_keyset *sets;
    size_t nsets;
    struct ks_revoked *revoked;
    size_t nrevoked;
    struct ks_cloud *clouds;  /* Entra clouds: v1 <-> v2 issuer equivalence, tenant rules */
    size_t nclouds;
};

/* An empty store; NULL only on allocation failure. Free with keystore_free(). */
struct keystore *keystore_new(void);
void keystore_free(struct keystore *ks);

/* Adds a keyset from a JWKS file / in-memory JWKS document ({"keys": [...]}), trusted for the
 * given issuers (copied). Returns 0, or -1 with a one-line reason in err (file, JSON line and
 * member at fault). JWKs that cannot be used are skipped and counted in `skipped`, not fatal. */
int keystore_add_jwks_file(struct keystore *ks, const char *name, const char *path,
                           const char *const *issuers, size_t nissuers, char *err, size_t errlen);
int keystore_add_jwks_json(struct keystore *ks, const char *name, const char *json, size_t len,
                           const char *const *issuers, size_t nissuers, char *err, size_t errlen);

/* Adds a revoked-key indicator (strings copied; sha1 accepts any case and colons).
 * Returns 0, or -1 when all four matchers are NULL. */
int keystore_add_revoked(struct keystore *ks, const char *kid, const char *x5t, const char *sha1,
                         const char *jkt, const char *reason);

/* Adds the indicators of a revocation file (revoked-keys-file; format in revoked_file.c: one
 * "KIND VALUE [REASON]" a line, KIND kid | x5t | sha1 | jkt, '#' comments). Returns 0, or -1
 * with "PATH:LINE: why" in err; the store may then hold part of the file and must be freed. */
int keystore_add_revoked_file(struct keystore *ks, const char *path, char *err, size_t errlen);

/* Sets keyset `name`'s audience and token-type expectations (strings copied; either list may
 * be empty). Returns 0, or -1 when no such keyset or out of memory. */
int keystore_set_expectations(struct keystore *ks, const char *name, const char *const *auds,
                              size_t naud, const char *const *types, size_t ntypes);

/* Adds an Entra cloud (prefixes copied). Returns 0 or -1 on allocation failure. */
int keystore_add_cloud(struct keystore *ks, const char *v1_prefix, const char *v2_prefix);

/* Is iss an Entra issuer of a configured cloud (v1 "PREFIX<seg>/" or v2 "PREFIX<seg>/v2.0", any
 * segment)? Sets *seg and *seglen to its tenant segment when it is. */
int keystore_entra_issuer(const struct keystore *ks, const char *iss, const char **seg,
                          size_t *seglen);

/* Keys found by kid; when kid is NULL or matches nothing, by x5t; then by x5t#S256 (x5t256).
 * Any may be NULL. Writes up to max pointers (store-owned); returns the number found. */
size_t keystore_find(const struct keystore *ks, const char *kid, const char *x5t,
                     const char *x5t256, const struct ks_key **out, size_t max);

/* The indicator matching this key (kid, x5t, cert SHA-1 or JWK thumbprint) or, with key NULL,
 * matching the token header's kid/x5t alone; NULL when none. */
const struct ks_revoked *keystore_revoked(const struct keystore *ks, const struct ks_key *key,
                                          const char *kid, const char *x5t);

/* Is s[0..len) a GUID (8-4-4-4-12 hex digits, any case, len == 36)? What {tenantid} and an
 * Entra `tid` must be. */
int keystore_is_guid(const char *s, size_t len);

/* Does `tmpl` (literal, "{tenantid}" template or "*") match issuer `iss` for tenant `tid`?
 * "{tenantid}" must be substituted by tid (a GUID) to give exactly iss. tid may be NULL, in which
 * case the tenant segment of iss is used for the keyset-level match (see keystore_trusts). */
int keystore_issuer_match(const char *tmpl, const char *iss, const char *tid);

/* Does keyset `set` trust issuer iss (tid from the token)? SPEC §2: an issuer that any keyset
 * lists literally belongs to those keysets alone; otherwise a keyset trusts iss when one of its
 * templates matches. */
int keystore_set_trusts(const struct keystore *ks, const struct ks_keyset *set, const char *iss,
                        const char *tid);

/* Is any keyset trusting iss? */
int keystore_issuer_trusted(const struct keystore *ks, const char *iss, const char *tid);

/* Is this key allowed to sign for iss? Its keyset must trust iss, and when the JWK has its own
 * `issuer` member, that member with "{tenantid}" substituted by tid must equal iss, or — for a
 * v1 iss of a configured Entra cloud — its v2 equivalent. */
int keystore_key_allows(const struct keystore *ks, const struct ks_key *key, const char *iss,
                        const char *tid);

/* The issuer the key is scoped to, for EVE `key_issuer`: its JWK `issuer` with {tenantid}
 * substituted by tid when tid is given, else its keyset's only issuer; written to buf
 * (NUL-terminated, truncated to buflen). Returns 0, or -1 when there is none to name. */
int keystore_key_issuer(const struct ks_key *key, const char *tid, char *buf, size_t buflen);

#endif
