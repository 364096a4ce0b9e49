/* urlredact.h — every string EVE copies from traffic, as EVE may print it: no credential in it.
 *
 * Pipeline: applayer (request/response heads) ─► [urlredact] ─► eve (`http.*`), and eve /
 * eve_keyset for the token claims and observed key set fields. One rule set for every field:
 *
 *   scheme://user:pass@host/   userinfo           → scheme://[redacted]@host/
 *   ?NAME=v  &NAME=v  ;NAME=v  #NAME=v             → NAME=[redacted]   (NAME from the list in
 *                              urlredact.c, any letter case, percent-encoded too; also any name
 *                              whose value, percent-decoded, holds a JWT; empty values are kept)
 *   eyJ….….…  (JWS; JWE: five parts; raw or percent-encoded, anywhere) → [jwt]
 *   Bearer <token68>                                → Bearer [redacted]
 *
 * Markers are ASCII and replace whole ASCII-delimited byte ranges, so valid UTF-8 stays valid.
 * Time is linear in the input; a string without '@', '%', "eyJ", "bearer" or a listed NAME
 * before '=' is passed in one pass over its bytes (most URLs, user agents and content types).
 * `raw-tokens: yes` does not change any of this (it only adds token.raw).
 */
#ifndef TW_URLREDACT_H
#define TW_URLREDACT_H

#include <stddef.h>

#include "arena.h"
#include "jb.h"
#include "parse.h"

/* The redacted string: s itself when there is nothing to redact, else an arena copy; NULL when
 * s is NULL or the arena is full. */
const char *url_redact(struct arena *a, const char *s);

/* http.hostname from a Host header value: without port, without userinfo (it has no place in
 * Host, RFC 9110 §7.2, but a client that sends it sends a credential), then redacted. Arena
 * copy; NULL when the arena is full. */
const char *url_redact_host(struct arena *a, struct span host);

/* The redacted form of s[0..n) written to out (at most cap bytes, no NUL); returns its full
 * length (more than cap: out holds a prefix). *nred (may be NULL) gets the number of
 * replacements; 0 means the output equals the input. out NULL measures only. */
size_t url_redact_buf(const char *s, size_t n, char *out, size_t cap, size_t *nred);

/* The same without the one-pass check that passes most strings untouched: every byte goes
 * through the full rules. For the differential test only (the output must be the same). */
size_t url_redact_buf_unchecked(const char *s, size_t n, char *out, size_t cap, size_t *nred);

/* jb_str() of the redacted s, for fields built without an arena (token claims, keyset
 * records); a copy is made (and freed) only when something is redacted. Out of memory writes
 * "[redacted]" rather than the original. */
void url_redact_jb(struct jb *j, const char *key, const char *s);

#endif
