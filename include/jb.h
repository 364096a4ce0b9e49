/* jb.h — append-only JSON builder for EVE records (Suricata's JsonBuilder idea: an efficient
 * serializer rather than a flexible one). Writes straight into one growing buffer; commas are
 * tracked per nesting level; every string is escaped so the output is valid JSON and valid
 * UTF-8 whatever the input bytes (invalid UTF-8 bytes become \u00XX escapes).
 * Owns its buffer: jb_release() frees it. Allocation failure sets `err`; further calls do nothing.
 */
#ifndef TW_JB_H
#define TW_JB_H

#include <stddef.h>
#include <stdint.h>

#define JB_MAX_DEPTH 16

struct jb {
    char *buf;
    size_t len, cap;
    int depth;
    uint8_t first[JB_MAX_DEPTH]; /* per level: bit 0 nothing written yet, bit 7 array */
    int err;
};

void jb_init(struct jb *j, size_t cap);
void jb_reset(struct jb *j);   /* empties the buffer, keeps its memory */
void jb_release(struct jb *j);

/* key is NULL for elements of an array or for the top-level object. */
void jb_open_object(struct jb *j, const char *key);
void jb_open_array(struct jb *j, const char *key);
void jb_close(struct jb *j);   /* closes the innermost object or array */

void jb_str(struct jb *j, const char *key, const char *s);
void jb_strn(struct jb *j, const char *key, const void *s, size_t n);
void jb_int(struct jb *j, const char *key, int64_t v);
void jb_uint(struct jb *j, const char *key, uint64_t v);
void jb_bool(struct jb *j, const char *key, int v);
/* Appends pre-rendered JSON (trusted, our own output) as a value. */
void jb_raw(struct jb *j, const char *key, const char *json, size_t n);

/* Appends pre-rendered object members ("k":v,"k2":v2 — our own output, trusted) into the
 * current object, with the comma rules of the builder. n == 0 appends nothing. */
void jb_members(struct jb *j, const char *members, size_t n);

/* The same writers with a key known at compile time: JB_KEY("name") passes the key already
 * rendered as "\"name\":" and its length, so nothing measures or checks it per record. Only
 * for literal keys that need no escaping (letters, digits, '_', '-', '.'): the macro takes a
 * string literal only, and test_jb checks every writer against its plain twin. */
#define JB_KEY(lit) ("\"" lit "\":"), (sizeof(lit) + 2)
void jb_kopen_object(struct jb *j, const char *qkey, size_t qn);
void jb_kopen_array(struct jb *j, const char *qkey, size_t qn);
void jb_kstr(struct jb *j, const char *qkey, size_t qn, const char *s);
void jb_kstrn(struct jb *j, const char *qkey, size_t qn, const void *s, size_t n);
void jb_kint(struct jb *j, const char *qkey, size_t qn, int64_t v);
void jb_kuint(struct jb *j, const char *qkey, size_t qn, uint64_t v);
void jb_kbool(struct jb *j, const char *qkey, size_t qn, int v);

/* Appends s[0..n) as it is: JSON this builder rendered before (trusted, our own output), cut
 * where the caller resumes or completes it. depth >= 0: after it, that many objects are open,
 * each with members written (0: the record is complete); depth < 0: the state is left as it was
 * (the bytes open and close nothing, or the caller completes the record with a later call). */
void jb_verbatim(struct jb *j, const char *s, size_t n, int depth);

/* Escapes s[0..n) as a JSON string body (without quotes) onto the buffer. */
void jb_escape(struct jb *j, const void *s, size_t n);

#endif
