/* token.h — finds bearer tokens in an HTTP transaction, whatever protocol framed it.
 *
 * Pipeline: applayer ─► [token scan] ─► verdict. Table-driven: each row of the extractor table
 * names a place (a header, later cookies, query, bodies) and a function that pulls token spans
 * from it, so adding a place is one row. Results are spans into the message buffer.
 * The input is protocol-neutral: a list of header fields (struct token_field), a request target
 * and bodies. HTTP/1 fills the fields from its parsed head; HTTP/2 would from its decoded HPACK
 * block (names lower-case there: every name here is matched case-insensitively), its :path
 * being the target.
 * RFC 6750 §2.1 (Authorization: Bearer), RFC 9110 §11.6.2 (credentials syntax).
 */
#ifndef TW_TOKEN_H
#define TW_TOKEN_H

#include "arena.h"
#include "parse.h"

/* One header field of a message head, as sent: spans into the caller's buffer, the value
 * trimmed of surrounding whitespace (an obs-folded HTTP/1 value keeps its inner CR/LF raw). */
struct token_field {
    struct span name, value;
};

/* The value of the first field named `name` (ASCII case-insensitive), or {NULL, 0}. */
struct span token_field_get(const struct token_field *fields, size_t nfields, const char *name);

enum token_location {
    TOKEN_LOC_AUTHORIZATION = 0,
    TOKEN_LOC_COOKIE,
    TOKEN_LOC_QUERY,
    TOKEN_LOC_BODY,
    TOKEN_LOC_RESPONSE_BODY,
    TOKEN_LOC_HEADER,
    TOKEN_LOC_WEBSOCKET,      /* a message of a WebSocket the connection switched to (a 101) */
    TOKEN_LOC__COUNT
};

struct token_ref {
    struct span text;         /* the token bytes exactly as sent */
    enum token_location loc;
};

/* SPEC §3 name of a location ("authorization", "cookie", ...). */
const char *token_location_name(enum token_location loc);

/* Scans a request head's fields (in message order) for Authorization: Bearer tokens; writes at
 * most `max` refs, returns how many were written. */
size_t token_scan_request(const struct token_field *fields, size_t nfields, struct token_ref *out,
                          size_t max);

/* Where else tokens travel (issue "every place a token travels"). Every scanner writes at most
 * `max` refs and returns how many. Token text that had to be decoded (URL-encoding, JSON
 * escapes, cookie quotes are NOT decoding: a span inside the input) is copied into `a`; refs
 * point into the input or into `a`. A place is reported once per token per place. */

/* Request headers other than Authorization: Proxy-Authorization (Bearer), Authorization with the
 * DPoP / PoP schemes (the token after the scheme), Cookie (any cookie whose value, unquoted, is a
 * JWT: RFC 6265 §4.2.1 syntax, lenient), and the configured header names (`headers`, matched
 * case-insensitively; value a JWT, or "authorization.bearer.<jwt>" inside a comma list as
 * Sec-WebSocket-Protocol carries it) → TOKEN_LOC_AUTHORIZATION / COOKIE / HEADER. */
/* (At most the first 64 configured names are matched.) */
size_t token_scan_headers(const struct token_field *fields, size_t nfields,
                          const char *const *headers, size_t nheaders, struct arena *a,
                          struct token_ref *out, size_t max);

/* The request target's query string: `access_token`, `id_token`, `token` (any non-empty value)
 * and any other parameter whose URL-decoded value is a JWT → TOKEN_LOC_QUERY. */
size_t token_scan_query(struct span target, struct arena *a, struct token_ref *out, size_t max);

/* An application/x-www-form-urlencoded body: `id_token`, `access_token`, `assertion`,
 * `client_assertion`, `subject_token`, `actor_token`, `refresh_token`, `token` (any non-empty
 * value) and any other field whose decoded value is a JWT → loc. */
size_t token_scan_form(struct span body, enum token_location loc, struct arena *a,
                       struct token_ref *out, size_t max);

/* A JSON body: members `access_token`, `id_token`, `refresh_token`, `token` with string values
 * (any non-empty value) and any string value anywhere that is a JWT → loc. A tolerant scanner,
 * not a validating parser: it never fails, it finds what it can within `body`. */
size_t token_scan_json(struct span body, enum token_location loc, struct arena *a,
                       struct token_ref *out, size_t max);

/* A JSON message of a protocol that carries credentials inside its messages (GraphQL over
 * WebSocket: the `connection_init` payload of graphql-ws and subscriptions-transport-ws, e.g.
 * {"payload":{"Authorization":"Bearer <jwt>"}} or {"payload":{"authToken":"<jwt>"}}): what
 * token_scan_json finds, and also the values of members named authorization, authToken,
 * accessToken, auth_token, jwt (and token_scan_json's names; all in any letter case), any
 * non-empty value; a value "Bearer <token>" (any case and spacing), named or not, gives
 * <token>; a named value with another scheme ("Basic ...") counts only when what follows the
 * scheme is a JWT (DPoP). Same contract as token_scan_json. */
size_t token_scan_json_auth(struct span msg, enum token_location loc, struct arena *a,
                            struct token_ref *out, size_t max);

/* Appends {text, loc} as out[n] unless n == max, text is empty, or out[0..n) already holds the
 * same bytes at the same location; returns the new count. The one dedupe every scanner uses;
 * a caller merging several scanners' results into one array may use it too. */
size_t token_ref_add(struct token_ref *out, size_t n, size_t max, struct span text,
                     enum token_location loc);

/* URL/form decoding as the query and form scanners apply it: '+' is a space, "%XX" a byte, a
 * '%' without two hex digits stays. Writes at most cap bytes to out; returns the decoded length
 * (more than cap when out was too small). */
size_t token_pct_decode(struct span in, uint8_t *out, size_t cap);

/* Three base64url parts with a header starting "eyJ" (a JWS/JWT), or five (a JWE). */
int token_is_jwt(struct span s);

/* The credentials of one Authorization header value when its scheme is Bearer (any letter
 * case, any amount of spaces/tabs around): returns 1 and sets *tok, else 0. */
int token_bearer(struct span value, struct span *tok);

#endif
