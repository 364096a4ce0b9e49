/* json_scan.h — a strict, bounded JSON reader for one object's top-level members, without a
 * tree.
 *
 * Pipeline: jwt (JOSE header and claims) ─► [json_scan]. The whole document is validated with
 * exactly the rules jansson 2.14's json_loadb(..., flags 0) applies (RFC 8259 grammar; strict
 * UTF-8; no \u0000; lone or reversed UTF-16 surrogates refused; integers must fit int64_t, reals
 * must not overflow a double; nesting at most 2048 values deep; nothing but whitespace after
 * the object), but nothing is built: each top-level member is handed to a callback as its
 * decoded key and a span of its value, in document order (a repeated key is handed again: the
 * caller keeps the last, as jansson does). Nested values are validated and skipped. Pure: no
 * allocation, no global state; the stack holds at most 256 bytes of nesting bits.
 *
 * The callback runs while the document is being read: its findings count only when
 * json_scan_object() returns 0.
 */
#ifndef TW_JSON_SCAN_H
#define TW_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* jansson's JSON_PARSER_MAX_DEPTH: the root object is at depth 1, its members' values at 2. */
#define JSON_SCAN_MAX_DEPTH 2048
/* Keys longer than this (decoded, in bytes) reach the callback as key NULL. */
#define JSON_SCAN_KEY_MAX 32

enum json_type {
    JSON_T_NULL = 0,
    JSON_T_FALSE,
    JSON_T_TRUE,
    JSON_T_INT,    /* no '.', 'e' or 'E': an int64_t (i) */
    JSON_T_REAL,   /* a finite double (d) */
    JSON_T_STRING, /* p/len: the text between the quotes, escapes not decoded */
    JSON_T_ARRAY,  /* p/len: '[' to ']' inclusive */
    JSON_T_OBJECT, /* p/len: '{' to '}' inclusive */
};

struct json_val {
    enum json_type type;
    int escaped;        /* a string with at least one backslash escape */
    const uint8_t *p;   /* span inside the scanned document */
    size_t len;
    int64_t i;          /* JSON_T_INT */
    double d;           /* JSON_T_REAL */
};

/* key: the member's name, decoded and NUL-terminated (klen bytes), or NULL when it is longer
 * than JSON_SCAN_KEY_MAX. v: valid during the call only (the spans stay valid with the
 * document). */
typedef void (*json_member_fn)(void *ctx, const char *key, size_t klen, const struct json_val *v);

/* Reads doc[0..len) as one JSON object (leading and trailing whitespace allowed). Returns 0 when
 * the document is valid, -1 otherwise (then the callback's findings are meaningless). fn may be
 * NULL (validation only). */
int json_scan_object(const uint8_t *doc, size_t len, json_member_fn fn, void *ctx);

/* Elements of an array value from a document json_scan_object() accepted: *pos starts at 0;
 * returns 1 and fills *v with the next element, 0 at the end. */
int json_array_next(const struct json_val *arr, size_t *pos, struct json_val *v);

/* Length in bytes of a string value once decoded (no NUL counted). */
size_t json_str_len(const struct json_val *v);
/* Decodes a string value into out (json_str_len(v) + 1 bytes), NUL-terminated; returns the
 * length. The result is valid UTF-8 without NUL bytes. */
size_t json_str_decode(const struct json_val *v, char *out);
/* Does string value v decode to exactly s (NUL-terminated)? */
int json_str_eq(const struct json_val *v, const char *s);

#endif
