/* hpack.h — HPACK header block decoding (RFC 7541) for a passive observer.
 *
 * Pipeline: app_http2 (frames, HEADERS + CONTINUATION joined) ─► [hpack] ─► header fields.
 * One decoder per direction of an HTTP/2 connection: the static table (Appendix A), the dynamic
 * table (§4), Huffman-coded strings (§5.2, Appendix B), dynamic table size updates (§6.3).
 *
 * Why our own and not nghttp2's inflater: a sensor often joins a connection mid-way (a capture
 * started late, a SPAN port that came up, a flow table that evicted the connection). The
 * entries the encoder added before the join are unknown, and nghttp2 treats a reference to an
 * index it does not hold as a fatal COMPRESSION_ERROR: the rest of the connection would be lost.
 * This decoder never gives up on a connection. Every entry inserted after the join is known at
 * its exact index (an index counts insertions, newest first, whatever was evicted), so a
 * reference to an index beyond the known entries is one of the unknown older ones: that field is
 * counted as unresolved and never invented; a literal whose name is such an index comes out with
 * its value and HPACK_F_NAME_UNKNOWN (and, when indexed, is inserted with its name unknown: a
 * later reference to it comes out the same way, INDEXED | NAME_UNKNOWN; a name the encoder keeps
 * taking from such entries, each new one naming the last, never travels again and stays unknown
 * until the table is emptied). Fields sent as literals (authorization is usually "never
 * indexed") always decode. After a late join the encoder's table size is taken to be the default
 * until an update says otherwise, and an update above the limit is accepted until
 * hpack_dec_set_limit says the limit (the SETTINGS may predate the join).
 * The unit tests check it field for field against nghttp2's deflater and inflater.
 *
 * Memory: the dynamic table is bounded by min(the encoder's table size, HPACK_TABLE_CAP) (its
 * bytes in a buffer of at most twice that, grown on demand, so that a steady state allocates
 * nothing for it); the decoder reports what it holds (hpack_dec_mem) so that the owner charges
 * it to its memcap. Kept between blocks: the table and the last Huffman string of 256 to 8,192
 * coded bytes with its decoding (a client repeats its bearer token in every request: decoded
 * once per connection, not once per request); the scratch for a block's Huffman output is
 * given back at the block's end, since a sensor holds a decoder pair per open connection.
 */
#ifndef TW_HPACK_H
#define TW_HPACK_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"

/* The largest dynamic table honoured (SETTINGS_HEADER_TABLE_SIZE may say up to 2^32-1): entries
 * that would not fit evict, and references to what a bigger table would have kept count as
 * unresolved. 64 KiB, 16 times the default of 4,096. */
#define HPACK_TABLE_CAP 65536u
#define HPACK_TABLE_DEFAULT 4096u

/* The largest string (name or value, after Huffman decoding) decoded: a longer one is an error. */
#define HPACK_STRING_MAX (1u << 20)

enum hpack_field_flags {
    HPACK_F_NEVER_INDEXED = 1, /* literal never indexed (§6.2.3) */
    HPACK_F_NAME_UNKNOWN = 2,  /* the name is a dynamic entry from before the join: name empty */
    HPACK_F_INDEXED = 4,       /* the whole field came from a table entry (§6.1) */
};

struct hpack_field {
    struct span name, value; /* valid during the callback only */
    unsigned flags;          /* enum hpack_field_flags */
};

/* Called for each decoded field, in block order. */
typedef void (*hpack_emit_fn)(void *ctx, const struct hpack_field *f);

enum hpack_status {
    HPACK_OK = 0,
    HPACK_ERR_TRUNCATED, /* the block ends inside a representation */
    HPACK_ERR_INVALID,   /* index 0, an integer over 2^32-1, a size update above a known limit
                            or after the first field, or (from_start) an index no insertion
                            made */
    HPACK_ERR_HUFFMAN,   /* invalid Huffman code, EOS, or padding over 7 bits / not all ones */
    HPACK_ERR_TOO_LONG,  /* a string over HPACK_STRING_MAX */
    HPACK_ERR_MEMORY,    /* out of memory */
};

struct hpack_counts {
    uint64_t fields;       /* fields emitted */
    uint64_t unresolved;   /* indexed fields whose entry predates the join: not emitted */
    uint64_t name_unknown; /* fields emitted with HPACK_F_NAME_UNKNOWN */
    uint64_t errors;       /* blocks that ended in an error */
};

struct hpack_entry; /* hpack.c: where an entry's bytes are, how long its name and value */

struct hpack_dec {
    struct hpack_entry *ring; /* known dynamic entries, a ring of records, newest at `head` */
    uint32_t ring_cap, head, count;
    uint8_t *buf;             /* the known entries' bytes (name, value), laid out as a ring */
    uint32_t buf_cap, wpos;   /* wpos: just past the newest entry's bytes */
    uint8_t wrap;             /* the entries' bytes wrap: oldest at the top, newest from 0 */
    uint8_t from_start;       /* the table is known from the connection's start: an index beyond
                                 every insertion is the encoder's error, not an older entry */
    uint8_t limit_known;      /* `limit` is known (from_start or hpack_dec_set_limit): a size
                                 update above it is an error */
    uint64_t inserted;        /* entries inserted since the table became known (from_start) */
    size_t size;      /* §4.1 size of the known entries (32 + name + value each; a name from
                         before the join counts 0, a lower bound) */
    size_t max_size;  /* the encoder's current maximum (§6.3 updates), capped at HPACK_TABLE_CAP */
    size_t limit;     /* the decoder's side's SETTINGS_HEADER_TABLE_SIZE: updates up to it are
                         valid (not capped; the table is) */
    size_t mem;       /* bytes allocated (ring, buf, scratch), each with the allocator's overhead */
    uint8_t *scratch; /* Huffman output of the field being decoded (name, then value) */
    size_t scratch_cap;
    uint8_t *memo;    /* the last long Huffman string: its coded bytes, then its decoded ones */
    uint32_t memo_in, memo_out, memo_cap; /* (a client repeats its bearer token every request) */
};

/* from_start: 1 when the connection's first block will be the first decoded (prior knowledge,
 * h2c upgrade); 0 when the capture joined mid-way. */
void hpack_dec_init(struct hpack_dec *d, int from_start);
/* Frees all the decoder holds (hpack_dec_mem is then 0); hpack_dec_init before using it again. */
void hpack_dec_free(struct hpack_dec *d);

/* SETTINGS_HEADER_TABLE_SIZE the decoder's side announced (acknowledged): the upper bound of the
 * encoder's size updates (the table itself stays capped at HPACK_TABLE_CAP). A limit below the
 * current table size evicts at once (the encoder must follow with an update). */
void hpack_dec_set_limit(struct hpack_dec *d, uint32_t settings_size);

/* Decodes one complete header block (a HEADERS or PUSH_PROMISE fragment with its CONTINUATIONs,
 * padding and priority removed), calling emit for each field; adds to *c (c may be NULL).
 * On an error the decoder forgets its table where it occurs and goes on as after a late join
 * (from_start cleared): an error that leaves the representations' boundaries known (INVALID)
 * drops only the field at fault and the rest of the block still decodes; any other ends the
 * block (the fields before it were emitted). The status is the block's first error. Never fails
 * for an unresolved index after a late join. */
enum hpack_status hpack_decode(struct hpack_dec *d, const uint8_t *p, size_t n,
                               hpack_emit_fn emit, void *ctx, struct hpack_counts *c);

/* Bytes the decoder holds (its table, ring and scratch): the owner's memcap charge. */
static inline size_t hpack_dec_mem(const struct hpack_dec *d)
{
    return d->mem;
}

/* Huffman-decodes src[0..n) (RFC 7541 §5.2) into dst (room for at least n * 8 / 5 + 1 bytes);
 * returns the decoded length, or -1 on an invalid code, EOS, or bad padding. */
long hpack_huffman_decode(const uint8_t *src, size_t n, uint8_t *dst);

/* Name of a status, for messages. */
const char *hpack_status_name(enum hpack_status s);

#endif
