/* jwt.h — JWS/JWT compact serialization parsing (RFC 7515 §7.1, RFC 7519 §7.2) and recognising
 * JWE compact form (RFC 7516 §7.1, five parts).
 *
 * Pipeline: token scan ─► [jwt] ─► verdict. Runs once per distinct token (the verification
 * cache sits in front). The header and claims JSON are read with json_scan (include/json_scan.h:
 * jansson's acceptance rules without its tree); every string kept is decoded into the arena the
 * caller passes.
 */
#ifndef TW_JWT_H
#define TW_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

enum jwt_type { JWT_TYPE_JWT = 0, JWT_TYPE_JWE, JWT_TYPE_OPAQUE };

/* Header parameters and claims that the verdict and EVE use. Strings are NUL-terminated, valid
 * UTF-8 without NUL (json_scan refuses anything else, as jansson did), arena-owned, NULL when absent or not a string. */
struct jwt_claims {
    /* JOSE header */
    const char *alg, *kid, *x5t, *typ;
    const char *x5t256;   /* header "x5t#S256" */
    const char *cty;      /* header content type */
    uint8_t has_jwk, has_jku, has_x5u, has_x5c; /* embedded key material */
    uint8_t has_nonce;    /* Microsoft Graph style: signature not verifiable by third parties */
    uint8_t has_crit;     /* crit present (whatever it lists) */
    uint8_t crit_unknown; /* crit is malformed or lists a parameter we do not understand
                             (we understand "b64", RFC 7797) */
    uint8_t b64_false;    /* "b64": false (RFC 7797): the payload is not base64url, not claims */
    /* claims */
    const char *iss, *tid, *aud, *sub, *appid, *azp; /* aud: the first element when an array */
    const char *const *auds; /* every aud value (naud of them), arena-owned; auds[0] == aud */
    size_t naud;
    int64_t iat, nbf, exp;
    uint8_t has_iat, has_nbf, has_exp;
};

struct jwt {
    enum jwt_type type;
    int malformed;              /* looks like a JWT (3 parts, header "eyJ") but does not parse */
    const char *error;          /* static string: why it is malformed, or NULL */
    struct jwt_claims c;
    /* For verification (valid only when type == JWT and !malformed): */
    const uint8_t *signing_input; /* header "." payload, inside the token text */
    size_t signing_input_len;
    uint8_t *sig;               /* decoded signature, arena-owned */
    size_t sig_len;
    /* Nested JWT (RFC 7519 §5.2, cty "JWT"): the outer JWS's decoded payload is itself a
     * compact JWS/JWE, not a claims set; claims above are then empty and the caller judges the
     * inner token (RFC 8725 §2.8). Arena-owned; NULL when not nested. */
    const uint8_t *inner;
    size_t inner_len;
};

/* Classifies and parses tok[0..len). Never fails as a call: a token that is not a JWS becomes
 * JWT_TYPE_JWE (five dot-separated parts) or JWT_TYPE_OPAQUE, and a JWS-looking token that does
 * not parse sets `malformed`. Returns 0, or -1 only when the arena is exhausted. */
int jwt_parse(const uint8_t *tok, size_t len, struct arena *a, struct jwt *out);

/* SPEC §3 name of a type: "jwt", "jwe", "opaque". */
const char *jwt_type_name(enum jwt_type t);

#endif
