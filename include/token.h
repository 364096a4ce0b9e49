/* token.h — finds bearer tokens in an HTTP transaction.
 *
 * Pipeline: applayer ─► [token scan] ─► verdict. Table-driven: each row of the extractor table
 * names a place (a header, later cookies, query, bodies) and a function that pulls token spans
 * from it, so adding a place is one row. Results are spans into the message buffer.
 * RFC 6750 §2.1 (Authorization: Bearer), RFC 9110 §11.6.2 (credentials syntax).
 */
#ifndef TW_TOKEN_H
#define TW_TOKEN_H

#include "http1.h"
#include "parse.h"

enum token_location {
    TOKEN_LOC_AUTHORIZATION = 0,
    TOKEN_LOC_COOKIE,
    TOKEN_LOC_QUERY,
    TOKEN_LOC_BODY,
    TOKEN_LOC_RESPONSE_BODY,
    TOKEN_LOC_HEADER,
    TOKEN_LOC__COUNT
};

struct token_ref {
    struct span text;         /* the token bytes exactly as sent */
    enum token_location loc;
};

/* SPEC §3 name of a location ("authorization", "cookie", ...). */
const char *token_location_name(enum token_location loc);

/* Scans a request head for tokens; writes at most `max` refs, returns how many were written. */
size_t token_scan_request(const struct http1_msg *req, struct token_ref *out, size_t max);

/* The credentials of one Authorization header value when its scheme is Bearer (any letter
 * case, any amount of spaces/tabs around): returns 1 and sets *tok, else 0. */
int token_bearer(struct span value, struct span *tok);

#endif
