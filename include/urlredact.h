/* urlredact.h — the request URL as EVE may print it: no token text in it.
 *
 * Pipeline: applayer (a request head) ─► [urlredact] ─► eve (`http.url`). Query parameters that
 * token_scan_query reports (access_token, id_token, token, any value decoding to a JWT) get the
 * value "[redacted]"; a JWT anywhere else in the URL (a path segment) becomes "[jwt]". Copies
 * into the arena the caller passes; owns nothing.
 */
#ifndef TW_URLREDACT_H
#define TW_URLREDACT_H

#include "arena.h"

/* The redacted URL: url itself when there is nothing to redact, else an arena copy; NULL when
 * the arena is full. */
const char *url_redact(struct arena *a, const char *url);

#endif
