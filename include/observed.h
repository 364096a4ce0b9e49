/* observed.h — key sets learned from the wire: JWKS and OpenID discovery documents seen in HTTP
 * responses (/discovery/keys, /discovery/v2.0/keys, /.well-known/jwks.json,
 * /.well-known/openid-configuration, or any JSON response shaped as a JWKS).
 *
 * Pipeline: applayer (a response body) ─► [observed] ─► eve (`keyset` record). Owns what it has
 * observed, bounded: at most `max_sets` documents (the least recently seen is forgotten first),
 * each kept as a parsed key set in its own key store. Observed keys are never trusted
 * automatically: they are compared with the configured trust and reported.
 */
#ifndef TW_OBSERVED_H
#define TW_OBSERVED_H

#include <stddef.h>
#include <stdint.h>

#include "keystore.h"

/* What one newly seen (or changed) document says, for the `keyset` record. Valid until the next
 * observed_feed() call. */
struct observed_diff {
    const char *kind;            /* "jwks" or "openid-configuration" */
    const char *host, *url;      /* where it was seen */
    uint64_t ts_us;
    const char *issuer;          /* discovery documents: `issuer`, else NULL */
    const char *jwks_uri;        /* discovery documents: `jwks_uri`, else NULL */
    size_t nkeys;                /* JWKS: keys in the document (usable or not) */
    const char *const *kids;     /* JWKS: kid (or x5t, or jkt) of every usable key */
    size_t nkids;
    const char *keyset;          /* the configured key set it corresponds to (shares a key with,
                                    or whose issuer template matches a key's `issuer`), or NULL */
    const char *const *untrusted;/* published keys no configured key set trusts */
    size_t nuntrusted;
    const char *const *missing;  /* keys of `keyset` the document no longer publishes (a removed
                                    key still in use is a strong signal: Storm-0558) */
    size_t nmissing;
    int changed;                 /* 1: a document seen before at this place changed */
};

struct observed;

/* NULL on no memory. */
struct observed *observed_new(size_t max_sets);
void observed_free(struct observed *o);

/* Looks at one complete response body (decoded) from host/url with the given Content-Type (may
 * be NULL). Returns 1 and fills *d when it is a JWKS or discovery document that was not seen
 * before at this place, or differs from what was; 0 otherwise (not such a document, unchanged,
 * or unparseable). `trusted` is the configured key store. */
int observed_feed(struct observed *o, const struct keystore *trusted, const char *host,
                  const char *url, const char *content_type, uint64_t ts_us, const uint8_t *body,
                  size_t len, struct observed_diff *d);

/* The observed keys that claim to sign for `iss` (JWK `issuer`, or a discovery document's issuer
 * naming the JWKS's URL), for callers allowed to verify against them; NULL when none. */
const struct keystore *observed_keystore(const struct observed *o);

#endif
